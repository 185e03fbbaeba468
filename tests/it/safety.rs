//! The kick's safety rule over every combination of leg states: only connected legs (held or
//! not) count as staying, other kicks on the call count as leaving, and a customer-side target
//! is always risky.

use confwatch::kick::{Risk, assess};
use confwatch::wire::{CallConversation, CallMediaParticipant, EntityRef, ParticipantState};
use proptest::prelude::*;

/// Every state the platform names, and one it might add.
fn any_state() -> impl Strategy<Value = ParticipantState> {
    prop_oneof![
        Just(ParticipantState::Alerting),
        Just(ParticipantState::Dialing),
        Just(ParticipantState::Contacting),
        Just(ParticipantState::Offering),
        Just(ParticipantState::Connected),
        Just(ParticipantState::Disconnected),
        Just(ParticipantState::Terminated),
        Just(ParticipantState::Converting),
        Just(ParticipantState::Uploading),
        Just(ParticipantState::Transmitting),
        Just(ParticipantState::Scheduled),
        Just(ParticipantState::Parked),
        Just(ParticipantState::None),
        Just(ParticipantState::from("brand-new-state")),
    ]
}

fn any_purpose() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("customer"),
        Just("external"),
        Just("agent"),
        Just("user"),
        Just("acd"),
        Just("ivr"),
    ]
}

/// A call of 1 to 6 legs (each a purpose, a state and a hold flag), a target among them, and
/// which of the others another kick is removing (by participant id or by user id).
fn any_case() -> impl Strategy<Value = (CallConversation, usize, Vec<(bool, bool)>)> {
    prop::collection::vec((any_purpose(), any_state(), any::<bool>()), 1..7).prop_flat_map(|legs| {
        let n = legs.len();
        let call = CallConversation {
            id: "c1".into(),
            participants: legs
                .into_iter()
                .enumerate()
                .map(|(i, (purpose, state, held))| {
                    let mut leg = CallMediaParticipant::new(format!("p{i}"), purpose, state);
                    leg.held = Some(held);
                    leg.name = Some(format!("Party {i}"));
                    leg.user = Some(EntityRef {
                        id: Some(format!("u{i}")),
                        ..Default::default()
                    });
                    leg
                })
                .collect(),
            ..Default::default()
        };
        (
            Just(call),
            0..n,
            prop::collection::vec((any::<bool>(), any::<bool>()), n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn risky_exactly_when_fewer_than_two_connected_others_stay(
        (call, target_index, leaving_flags) in any_case()
    ) {
        let target = &call.participants[target_index];
        // Other kicks' targets, some named by participant id, some by user id.
        let leaving: Vec<String> = call
            .participants
            .iter()
            .zip(&leaving_flags)
            .filter(|(p, (leaves, _))| *leaves && p.id != target.id)
            .map(|(p, (_, by_user))| {
                if *by_user {
                    p.user.as_ref().and_then(|u| u.id.clone()).unwrap_or_default()
                } else {
                    p.id.clone()
                }
            })
            .collect();
        let leaving_refs: Vec<&str> = leaving.iter().map(String::as_str).collect();
        let judged = assess(&call, target, &leaving_refs);

        // The rule, written out independently: a leg stays connected only in the `connected`
        // state (held is a flag on it); gone, ringing and every other state do not count.
        let is_leaving = |p: &CallMediaParticipant| {
            leaving.iter().any(|l| *l == p.id || Some(l) == p.user.as_ref().and_then(|u| u.id.as_ref()))
        };
        let others: Vec<&CallMediaParticipant> = call
            .participants
            .iter()
            .filter(|p| p.id != target.id && !is_leaving(p))
            .collect();
        let connected = others
            .iter()
            .filter(|p| p.state.to_string() == "connected")
            .count();
        let customer_side = matches!(target.purpose().to_string().as_str(), "customer" | "external");
        let expected = if customer_side {
            Some(Risk::Customer)
        } else if connected < 2 {
            Some(Risk::LastOtherParty)
        } else {
            None
        };
        prop_assert_eq!(judged.risk, expected, "{:?} leaving {:?}", call.participants, leaving);
        prop_assert_eq!(judged.connected_remaining, connected);
        // Who stays: every other leg still on the call, each with its state.
        let on_call: Vec<&&CallMediaParticipant> = others
            .iter()
            .filter(|p| !matches!(p.state.to_string().as_str(), "disconnected" | "terminated" | "none"))
            .collect();
        prop_assert_eq!(judged.staying.len(), on_call.len());
        for (line, leg) in judged.staying.iter().zip(on_call) {
            let name = leg.name.clone().unwrap_or_default();
            prop_assert!(line.starts_with(&name), "{} for {:?}", line, leg);
            let expected_how = match leg.state.to_string().as_str() {
                "connected" if leg.held == Some(true) => format!("({}, held)", leg.purpose()),
                "connected" => format!("({})", leg.purpose()),
                "alerting" | "offering" => "(ringing)".to_string(),
                other => format!("({other})"),
            };
            prop_assert!(line.ends_with(&expected_how), "{} for {:?}", line, leg);
        }
    }
}

/// The case, in words: a ringing agent does not keep the customer company.
#[test]
fn a_ringing_agent_does_not_count_as_staying() {
    let mut casey = CallMediaParticipant::new("c", "customer", ParticipantState::Connected);
    casey.name = Some("Casey".into());
    let mut ava = CallMediaParticipant::new("a", "agent", ParticipantState::Connected);
    ava.name = Some("Ava".into());
    let mut blair = CallMediaParticipant::new("b", "agent", ParticipantState::Alerting);
    blair.name = Some("Blair".into());
    let call = CallConversation {
        id: "c1".into(),
        participants: vec![casey, ava.clone(), blair],
        ..Default::default()
    };
    let judged = assess(&call, &ava, &[]);
    assert_eq!(judged.risk, Some(Risk::LastOtherParty));
    assert_eq!(
        judged.who_stays(),
        "Casey (customer) and Blair (ringing) stay"
    );
}
