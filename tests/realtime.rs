//! The audio callback's body must not allocate: an allocation can take a lock inside the
//! allocator and stall the sound server's real-time thread. This test binary counts every
//! allocation made on the calling thread while `deliver` runs.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use seqlab::audio::input::{CaptureStats, deliver};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract is passed on as it is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn deliver_never_allocates_even_when_the_buffer_overflows() {
    let (mut producer, consumer) = rtrb::RingBuffer::<f32>::new(300);
    let stats = CaptureStats::default();
    let stereo_f32: Vec<f32> = (0..512).map(|i| (i as f32 * 0.01).sin()).collect();
    let mono_i16: Vec<i16> = (0..256).map(|i| (i * 97 % 65536 - 32768) as i16).collect();
    let n = allocations_during(|| {
        deliver(&stereo_f32, 2, &mut producer, &stats); // 256 frames into 300 slots
        deliver(&mono_i16, 1, &mut producer, &stats); // 44 fit, 212 overrun
        deliver(&stereo_f32, 2, &mut producer, &stats); // buffer full: all overrun
    });
    assert_eq!(n, 0, "the callback allocated {n} times");
    assert_eq!((stats.delivered(), stats.overruns()), (300, 212 + 256));
    assert_eq!(consumer.slots(), 300);
}
