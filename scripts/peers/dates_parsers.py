"""Rule-based peers for `seqlab dates eval`: python-dateutil and dateparser on the same TSV.

    pip install python-dateutil dateparser
    python3 scripts/peers/dates_parsers.py FILE.tsv

FILE is a `human<TAB>machine` TSV (e.g. from `seqlab dates generate`). dateutil is told
nothing (its default reads 3/7/21 month first); dateparser gets DATE_ORDER=MDY for the same
reason. Prints one JSON line with each parser's exact-match accuracy.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def score(rows, parse):
    ok = 0
    for human, machine in rows:
        try:
            d = parse(human)
            ok += d is not None and d.strftime("%Y-%m-%d") == machine
        except Exception:
            pass
    return ok / len(rows)


def main():
    rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1], encoding="utf-8")][1:]
    out = {"n": len(rows)}
    try:
        from dateutil import parser as du

        out["dateutil_exact"] = score(rows, lambda s: du.parse(s))
    except ImportError:
        out["dateutil_exact"] = None
    try:
        import dateparser

        settings = {"DATE_ORDER": "MDY", "PREFER_DAY_OF_MONTH": "first"}
        out["dateparser_exact"] = score(rows, lambda s: dateparser.parse(s, languages=["en"], settings=settings))
    except ImportError:
        out["dateparser_exact"] = None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
