"""gensim peer for `seqlab words train` / `seqlab words bench`: Word2Vec skip-gram with
negative sampling on the same corpus, tokenised by seqlab so both see the same words.

    pip install gensim
    seqlab words tokenize --out /tmp/corpus.tok.txt         # seqlab's tokens, one line per input line
    python3 scripts/peers/words_gensim.py /tmp/corpus.tok.txt [questions-words.txt] [--save vectors.txt]

Settings as the issue states them: sg=1, 50-d, window 5, negative 5, 5 epochs, 2 workers,
min_count 5, sample 1e-3 (gensim's default, also seqlab's), alpha 0.025 -> 1e-4 (both).
Prints gensim's own log (effective words/s per epoch), then one JSON line: raw and effective
words/s over the whole training call, and Google analogy accuracy at restrict_vocab 30000
(correct / answered, coverage = answered / all questions).
"""
import json
import logging
import sys
import time

from gensim.models import Word2Vec
from gensim.models.word2vec import LineSentence

corpus = sys.argv[1]
questions = sys.argv[2] if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else "../shared/data/word_eval/questions-words.txt"
save = sys.argv[sys.argv.index("--save") + 1] if "--save" in sys.argv else None

logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
model = Word2Vec(vector_size=50, window=5, negative=5, sg=1, min_count=5, workers=2, sample=1e-3, seed=1)
model.build_vocab(LineSentence(corpus))
start = time.time()
raw_words, effective = None, None
effective, raw_words = model.train(
    LineSentence(corpus), total_examples=model.corpus_count, epochs=5, compute_loss=False
)
seconds = time.time() - start

score, sections = model.wv.evaluate_word_analogies(questions, restrict_vocab=30000, case_insensitive=True)
total = sum(len(s["correct"]) + len(s["incorrect"]) for s in sections if s["section"] != "Total accuracy")
answered = [s for s in sections if s["section"] == "Total accuracy"][0]
n_answered = len(answered["correct"]) + len(answered["incorrect"])
n_questions = sum(1 for line in open(questions) if line.strip() and not line.startswith(":"))
if save:
    model.wv.save_word2vec_format(save)
print(json.dumps({
    "peer": "gensim " + __import__("gensim").__version__,
    "seconds": seconds,
    "raw_words_per_sec": raw_words / seconds,
    "effective_words_per_sec": effective / seconds,
    "vocab": len(model.wv),
    "analogy_accuracy_30k": score,
    "analogy_answered": n_answered,
    "analogy_coverage": n_answered / n_questions,
}))
