//! Pure bookkeeping of a stateless decode: which CAPTURE buffer may be reused,
//! which request is free, what is ready for display. No ioctls here.

use std::collections::VecDeque;

/// State of one CAPTURE buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// Owned by us, holds nothing anyone needs.
    Free,
    /// Queued to the driver for the picture with this timestamp.
    Queued(u64),
    /// Dequeued, holds the decoded picture with this timestamp.
    Decoded(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    state: SlotState,
    /// Times the picture is still to be written out (0 for a hidden VP9/AV1
    /// frame; more than 1 when show_existing_frame repeats it).
    awaiting_display: u32,
    /// Still a reference of the decoder state.
    referenced: bool,
}

/// Why a CAPTURE buffer cannot be picked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("CAPTURE buffer {0} does not exist")]
    NoSuchBuffer(usize),
    #[error("CAPTURE buffer {index} is {state:?}, expected {expected}")]
    BadState {
        index: usize,
        state: SlotState,
        expected: &'static str,
    },
    #[error("no decoded CAPTURE buffer holds timestamp {0}")]
    UnknownTimestamp(u64),
}

/// DPB buffer retention: a CAPTURE buffer can be queued again only when it is
/// neither in the driver's hands, nor a reference of a picture still to come,
/// nor waiting to be written out.
#[derive(Debug, Clone)]
pub struct CaptureSlots {
    slots: Vec<Slot>,
}

impl CaptureSlots {
    pub fn new(count: usize) -> Self {
        Self {
            slots: vec![
                Slot {
                    state: SlotState::Free,
                    awaiting_display: 0,
                    referenced: false,
                };
                count
            ],
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn state(&self, index: usize) -> Option<SlotState> {
        self.slots.get(index).map(|s| s.state)
    }

    /// Lowest free buffer, if any.
    pub fn free(&self) -> Option<usize> {
        self.slots.iter().position(|s| s.state == SlotState::Free)
    }

    /// Number of free buffers.
    pub fn free_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.state == SlotState::Free)
            .count()
    }

    /// `index` was queued for the picture `ts` (which will be displayed once).
    pub fn queue(&mut self, index: usize, ts: u64) -> Result<(), SlotError> {
        self.queue_with_displays(index, ts, 1)
    }

    /// `index` was queued for the picture `ts`, to be written out `displays`
    /// times (0: a hidden frame kept only as a reference; 2 or more: shown
    /// again by show_existing_frame).
    pub fn queue_with_displays(
        &mut self,
        index: usize,
        ts: u64,
        displays: u32,
    ) -> Result<(), SlotError> {
        let slot = self
            .slots
            .get_mut(index)
            .ok_or(SlotError::NoSuchBuffer(index))?;
        if slot.state != SlotState::Free {
            return Err(SlotError::BadState {
                index,
                state: slot.state,
                expected: "Free",
            });
        }
        *slot = Slot {
            state: SlotState::Queued(ts),
            awaiting_display: displays,
            referenced: false,
        };
        Ok(())
    }

    /// `index` came back from the driver (DQBUF).
    pub fn dequeued(&mut self, index: usize) -> Result<u64, SlotError> {
        let slot = self
            .slots
            .get_mut(index)
            .ok_or(SlotError::NoSuchBuffer(index))?;
        let SlotState::Queued(ts) = slot.state else {
            return Err(SlotError::BadState {
                index,
                state: slot.state,
                expected: "Queued",
            });
        };
        slot.state = SlotState::Decoded(ts);
        self.settle(index);
        Ok(ts)
    }

    /// Buffer holding the decoded picture `ts`.
    pub fn find_decoded(&self, ts: u64) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.state == SlotState::Decoded(ts))
    }

    /// Buffer queued or decoded for `ts`.
    pub fn find(&self, ts: u64) -> Option<usize> {
        self.slots.iter().position(
            |s| matches!(s.state, SlotState::Queued(t) | SlotState::Decoded(t) if t == ts),
        )
    }

    /// The picture `ts` has been written out (once).
    pub fn displayed(&mut self, ts: u64) -> Result<(), SlotError> {
        let index = self
            .find_decoded(ts)
            .ok_or(SlotError::UnknownTimestamp(ts))?;
        let s = &mut self.slots[index];
        s.awaiting_display = s.awaiting_display.saturating_sub(1);
        self.settle(index);
        Ok(())
    }

    /// The decoder state now refers to exactly these timestamps: every other
    /// buffer stops being a reference.
    pub fn set_references(&mut self, refs: &[u64]) {
        for i in 0..self.slots.len() {
            let ts = match self.slots[i].state {
                SlotState::Queued(t) | SlotState::Decoded(t) => t,
                SlotState::Free => continue,
            };
            self.slots[i].referenced = refs.contains(&ts);
            self.settle(i);
        }
    }

    /// Forget everything (after STREAMOFF).
    pub fn reset(&mut self, count: usize) {
        *self = Self::new(count);
    }

    fn settle(&mut self, index: usize) {
        let s = &mut self.slots[index];
        if let SlotState::Decoded(_) = s.state {
            if s.awaiting_display == 0 && !s.referenced {
                s.state = SlotState::Free;
            }
        }
    }
}

/// A fixed pool of media requests, reused in FIFO order: `take` a free one,
/// it is in flight until `complete`d (after which the caller REINITs it).
#[derive(Debug, Clone)]
pub struct RequestPool {
    free: VecDeque<usize>,
    in_flight: VecDeque<InFlight>,
}

/// A queued request and what was queued with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub request: usize,
    /// Decode-order number of the picture (for error messages).
    pub frame: u64,
    pub timestamp: u64,
    /// OUTPUT buffer used.
    pub output: usize,
    /// Whether a CAPTURE buffer comes back with this request (false for a
    /// first field, whose CAPTURE buffer is held).
    pub returns_capture: bool,
}

impl RequestPool {
    pub fn new(count: usize) -> Self {
        Self {
            free: (0..count).collect(),
            in_flight: VecDeque::new(),
        }
    }

    pub fn take(&mut self) -> Option<usize> {
        self.free.pop_front()
    }

    /// Returns a taken request unused (queueing failed before the request was).
    pub fn give_back(&mut self, request: usize) {
        self.free.push_front(request);
    }

    pub fn queued(&mut self, job: InFlight) {
        self.in_flight.push_back(job);
    }

    /// The oldest in-flight request (the driver completes in order).
    pub fn oldest(&self) -> Option<&InFlight> {
        self.in_flight.front()
    }

    /// Marks the oldest request complete and free again.
    pub fn complete(&mut self) -> Option<InFlight> {
        let job = self.in_flight.pop_front()?;
        self.free.push_back(job.request);
        Some(job)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub fn free_count(&self) -> usize {
        self.free.len()
    }
}

/// Pictures announced for display, in display order; the head leaves when
/// its buffer is decoded.
#[derive(Debug, Clone, Default)]
pub struct DisplayQueue {
    pending: VecDeque<u64>,
}

impl DisplayQueue {
    pub fn push(&mut self, ts: impl IntoIterator<Item = u64>) {
        self.pending.extend(ts);
    }

    /// Removes and returns the leading timestamps whose pictures are decoded.
    pub fn pop_ready(&mut self, slots: &CaptureSlots) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(&ts) = self.pending.front() {
            if slots.find_decoded(ts).is_none() {
                break;
            }
            out.push(ts);
            self.pending.pop_front();
        }
        out
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    pub fn front(&self) -> Option<u64> {
        self.pending.front().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_is_reusable_only_after_display_and_unreference() {
        let mut s = CaptureSlots::new(2);
        assert_eq!(s.free(), Some(0));
        s.queue(0, 1000).unwrap();
        assert_eq!(s.free(), Some(1));
        s.set_references(&[1000]);
        assert_eq!(s.dequeued(0).unwrap(), 1000);
        assert_eq!(s.state(0), Some(SlotState::Decoded(1000)));
        // Displayed but still a reference: kept.
        s.displayed(1000).unwrap();
        assert_eq!(s.state(0), Some(SlotState::Decoded(1000)));
        assert_eq!(s.free_count(), 1);
        // Dropped from the DPB: free.
        s.set_references(&[]);
        assert_eq!(s.state(0), Some(SlotState::Free));
        assert_eq!(s.free_count(), 2);
    }

    #[test]
    fn unreferenced_buffer_waits_for_display() {
        // A non-reference B picture decoded before it is due for display.
        let mut s = CaptureSlots::new(3);
        s.queue(0, 0).unwrap();
        s.queue(1, 2000).unwrap();
        s.set_references(&[0, 2000]);
        s.queue(2, 1000).unwrap();
        s.dequeued(0).unwrap();
        s.dequeued(1).unwrap();
        s.dequeued(2).unwrap();
        assert_eq!(s.free(), None);
        s.displayed(0).unwrap();
        assert_eq!(s.free(), None, "0 is still a reference");
        s.displayed(1000).unwrap();
        assert_eq!(s.free(), Some(2), "B picture freed once written out");
    }

    #[test]
    fn reference_set_while_still_queued_is_kept() {
        let mut s = CaptureSlots::new(1);
        s.queue(0, 5000).unwrap();
        s.set_references(&[5000]);
        s.dequeued(0).unwrap();
        s.displayed(5000).unwrap();
        assert_eq!(s.state(0), Some(SlotState::Decoded(5000)));
    }

    #[test]
    fn misuse_is_reported() {
        let mut s = CaptureSlots::new(1);
        assert_eq!(
            s.dequeued(0),
            Err(SlotError::BadState {
                index: 0,
                state: SlotState::Free,
                expected: "Queued"
            })
        );
        s.queue(0, 1).unwrap();
        assert!(matches!(s.queue(0, 2), Err(SlotError::BadState { .. })));
        assert_eq!(s.queue(3, 2), Err(SlotError::NoSuchBuffer(3)));
        assert_eq!(s.displayed(9), Err(SlotError::UnknownTimestamp(9)));
    }

    #[test]
    fn hidden_frame_lives_only_as_a_reference() {
        // A VP9 alt-ref: never displayed, freed when no slot holds it.
        let mut s = CaptureSlots::new(2);
        s.queue_with_displays(0, 1000, 0).unwrap();
        s.set_references(&[1000]);
        s.dequeued(0).unwrap();
        assert_eq!(s.state(0), Some(SlotState::Decoded(1000)));
        s.set_references(&[]);
        assert_eq!(s.state(0), Some(SlotState::Free));
    }

    #[test]
    fn shown_again_frame_is_kept_until_its_last_display() {
        // Decoded, displayed, dropped from the slots, but a show_existing_frame
        // still has to write it out once more.
        let mut s = CaptureSlots::new(1);
        let mut d = DisplayQueue::default();
        s.queue_with_displays(0, 1000, 2).unwrap();
        s.dequeued(0).unwrap();
        d.push([1000]);
        assert_eq!(d.pop_ready(&s), vec![1000]);
        s.displayed(1000).unwrap();
        s.set_references(&[]);
        assert_eq!(s.state(0), Some(SlotState::Decoded(1000)));
        d.push([1000]);
        assert_eq!(d.pop_ready(&s), vec![1000]);
        s.displayed(1000).unwrap();
        assert_eq!(s.state(0), Some(SlotState::Free));
    }

    #[test]
    fn requests_are_reused_in_fifo_order() {
        let mut p = RequestPool::new(2);
        let a = p.take().unwrap();
        let b = p.take().unwrap();
        assert_eq!((a, b), (0, 1));
        assert_eq!(p.take(), None);
        for (i, r) in [a, b].into_iter().enumerate() {
            p.queued(InFlight {
                request: r,
                frame: i as u64,
                timestamp: i as u64 * 1000,
                output: r,
                returns_capture: true,
            });
        }
        assert_eq!(p.in_flight(), 2);
        assert_eq!(p.complete().unwrap().request, 0);
        assert_eq!(p.take(), Some(0));
        p.give_back(0);
        assert_eq!(p.free_count(), 1);
        assert_eq!(p.complete().unwrap().frame, 1);
        assert_eq!(p.complete(), None);
        assert_eq!(p.free_count(), 2);
    }

    #[test]
    fn display_queue_waits_for_its_head() {
        let mut s = CaptureSlots::new(3);
        let mut d = DisplayQueue::default();
        s.queue(0, 0).unwrap();
        s.queue(1, 2000).unwrap();
        s.queue(2, 1000).unwrap();
        d.push([0, 1000, 2000]);
        assert!(d.pop_ready(&s).is_empty());
        s.dequeued(0).unwrap();
        s.dequeued(1).unwrap();
        assert_eq!(d.pop_ready(&s), vec![0]);
        s.dequeued(2).unwrap();
        assert_eq!(d.pop_ready(&s), vec![1000, 2000]);
        assert!(d.is_empty());
    }
}
