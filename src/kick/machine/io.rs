//! What the kick machine takes in (answers, live events, timers, stops) and gives out (requests
//! and reports) as plain data.

use crate::kick::Step;
use crate::platform::conversations::PatchPath;
use crate::platform::error::ApiError;
use crate::wire::CallConversation;

/// One thing that happened to the job: an answer, a live event, a timer, a stop.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum MachineInput {
    Start,
    ReadOk(CallConversation),
    ReadFailed(ApiError),
    /// A live notification carrying the conversation as it now stands.
    Event(CallConversation),
    /// The PATCH answered 202 (with its correlation id, when the answer had one).
    PatchAccepted(Option<String>),
    PatchFailed(ApiError),
    /// The PATCH did not leave: its token could not be had (the error), or it was too late to
    /// leave (None: its start fell in the deadline's reserve).
    PatchNotSent(Option<ApiError>),
    /// The wake time the machine asked for has come.
    Timer,
    /// Live events may have been lost (the socket reconnected, or the subscription began after
    /// the first read): re-read if waiting on events.
    EventsLost,
    Cancel,
    /// A signal (SIGINT, SIGTERM, SIGHUP) ends the process: the job ends `interrupted`.
    Interrupt(String),
    /// The audit record could not be written: nothing more is sent.
    AuditFailed(String),
}

/// One thing the driver must do for the machine: a request, or a step to report.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Effect {
    /// GET the call; answer with `ReadOk` or `ReadFailed`.
    Read,
    /// PATCH `{"state":"disconnected"}`; answer with `PatchAccepted` or `PatchFailed`.
    Patch {
        participant_id: String,
        path: PatchPath,
    },
    Report(Step),
}
