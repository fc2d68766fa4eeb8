//! The legal review of notice versions: nothing comes into force that a lawyer other than its
//! submitter has approved, bound to the exact hash of text and metadata.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::staff::Role;

/// What is stored. `scheduled`, `in_force` and `superseded` are not stored: they follow from
/// `approved`, the effective dates and the clock (see [`DisplayState`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Draft,
    InReview,
    ChangesRequested,
    Approved,
    Withdrawn,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Draft => "draft",
            ReviewState::InReview => "in_review",
            ReviewState::ChangesRequested => "changes_requested",
            ReviewState::Approved => "approved",
            ReviewState::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// Once submitted, the text and metadata may not change: a change is a new version.
    pub fn is_frozen(self) -> bool {
        self != ReviewState::Draft
    }
}

/// The state people see.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisplayState {
    Draft,
    InReview,
    ChangesRequested,
    /// Approved; the effective date is still ahead.
    Scheduled,
    InForce,
    /// Approved and effective, but a newer approved version is in force.
    Superseded,
    Withdrawn,
}

impl DisplayState {
    pub fn as_str(self) -> &'static str {
        match self {
            DisplayState::Draft => "draft",
            DisplayState::InReview => "in_review",
            DisplayState::ChangesRequested => "changes_requested",
            DisplayState::Scheduled => "scheduled",
            DisplayState::InForce => "in_force",
            DisplayState::Superseded => "superseded",
            DisplayState::Withdrawn => "withdrawn",
        }
    }

    pub fn label_de(self) -> &'static str {
        match self {
            DisplayState::Draft => "Entwurf",
            DisplayState::InReview => "in Prüfung",
            DisplayState::ChangesRequested => "Änderungen erbeten",
            DisplayState::Scheduled => "freigegeben, noch nicht gültig",
            DisplayState::InForce => "in Kraft",
            DisplayState::Superseded => "abgelöst",
            DisplayState::Withdrawn => "zurückgezogen",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            DisplayState::Draft => "draft",
            DisplayState::InReview => "in review",
            DisplayState::ChangesRequested => "changes requested",
            DisplayState::Scheduled => "approved, scheduled",
            DisplayState::InForce => "in force",
            DisplayState::Superseded => "superseded",
            DisplayState::Withdrawn => "withdrawn",
        }
    }
}

/// The facts about one version that decide its display state.
#[derive(Clone, Copy, Debug)]
pub struct VersionFacts {
    pub version: u32,
    pub state: ReviewState,
    pub effective: NaiveDate,
}

/// The version in force on `today`: the newest approved one whose effective date has passed.
pub fn in_force(versions: &[VersionFacts], today: NaiveDate) -> Option<u32> {
    versions
        .iter()
        .filter(|v| v.state == ReviewState::Approved && v.effective <= today)
        .max_by_key(|v| (v.effective, v.version))
        .map(|v| v.version)
}

pub fn display_state(v: &VersionFacts, all: &[VersionFacts], today: NaiveDate) -> DisplayState {
    match v.state {
        ReviewState::Draft => DisplayState::Draft,
        ReviewState::InReview => DisplayState::InReview,
        ReviewState::ChangesRequested => DisplayState::ChangesRequested,
        ReviewState::Withdrawn => DisplayState::Withdrawn,
        ReviewState::Approved if v.effective > today => DisplayState::Scheduled,
        ReviewState::Approved if in_force(all, today) == Some(v.version) => DisplayState::InForce,
        ReviewState::Approved => DisplayState::Superseded,
    }
}

/// Why a step is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 409: the version is not in a state that allows this.
    #[error("version is {0}; {1}")]
    WrongState(&'static str, &'static str),
    /// 403: the rules about who may do this.
    #[error("{0}")]
    NotAllowed(&'static str),
}

pub fn submit(state: ReviewState) -> Result<ReviewState, Refusal> {
    match state {
        ReviewState::Draft => Ok(ReviewState::InReview),
        other => Err(Refusal::WrongState(
            other.as_str(),
            "only a draft can be submitted for review",
        )),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    RequestChanges,
}

/// Four eyes: a lawyer, and not the person who submitted the version.
pub fn review(
    state: ReviewState,
    reviewer_role: Role,
    reviewer: &str,
    author: Option<&str>,
    submitter: Option<&str>,
    decision: Decision,
) -> Result<ReviewState, Refusal> {
    if reviewer_role != Role::Lawyer {
        return Err(Refusal::NotAllowed(
            "only a lawyer may review a notice version",
        ));
    }
    if author == Some(reviewer) {
        return Err(Refusal::NotAllowed(
            "the author of a version may not review it (four eyes)",
        ));
    }
    if submitter == Some(reviewer) {
        return Err(Refusal::NotAllowed(
            "the submitter of a version may not review it (four eyes)",
        ));
    }
    if state != ReviewState::InReview {
        return Err(Refusal::WrongState(
            state.as_str(),
            "only a version in review can be decided",
        ));
    }
    Ok(match decision {
        Decision::Approve => ReviewState::Approved,
        Decision::RequestChanges => ReviewState::ChangesRequested,
    })
}

pub fn withdraw(state: ReviewState) -> Result<ReviewState, Refusal> {
    match state {
        ReviewState::Withdrawn => Err(Refusal::WrongState("withdrawn", "it is withdrawn already")),
        _ => Ok(ReviewState::Withdrawn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn lifecycle_transitions() {
        assert_eq!(submit(ReviewState::Draft), Ok(ReviewState::InReview));
        assert!(submit(ReviewState::InReview).is_err());
        assert!(submit(ReviewState::Approved).is_err());
        assert_eq!(
            review(
                ReviewState::InReview,
                Role::Lawyer,
                "b",
                None,
                Some("a"),
                Decision::Approve
            ),
            Ok(ReviewState::Approved)
        );
        assert_eq!(
            review(
                ReviewState::InReview,
                Role::Lawyer,
                "b",
                None,
                Some("a"),
                Decision::RequestChanges
            ),
            Ok(ReviewState::ChangesRequested)
        );
        assert!(matches!(
            review(
                ReviewState::InReview,
                Role::Lawyer,
                "a",
                None,
                Some("a"),
                Decision::Approve
            ),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(matches!(
            review(
                ReviewState::InReview,
                Role::Lawyer,
                "b",
                Some("b"),
                Some("a"),
                Decision::Approve
            ),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(matches!(
            review(
                ReviewState::InReview,
                Role::Admin,
                "b",
                None,
                Some("a"),
                Decision::Approve
            ),
            Err(Refusal::NotAllowed(_))
        ));
        assert!(matches!(
            review(
                ReviewState::Draft,
                Role::Lawyer,
                "b",
                None,
                Some("a"),
                Decision::Approve
            ),
            Err(Refusal::WrongState(..))
        ));
        assert!(matches!(
            review(
                ReviewState::Approved,
                Role::Lawyer,
                "b",
                None,
                Some("a"),
                Decision::Approve
            ),
            Err(Refusal::WrongState(..))
        ));
        assert_eq!(withdraw(ReviewState::Approved), Ok(ReviewState::Withdrawn));
        assert!(withdraw(ReviewState::Withdrawn).is_err());
    }

    #[test]
    fn display_states_follow_the_clock() {
        let versions = [
            VersionFacts {
                version: 1,
                state: ReviewState::Approved,
                effective: d("2021-04-01"),
            },
            VersionFacts {
                version: 2,
                state: ReviewState::Approved,
                effective: d("2021-06-01"),
            },
            VersionFacts {
                version: 3,
                state: ReviewState::Approved,
                effective: d("2027-01-01"),
            },
            VersionFacts {
                version: 4,
                state: ReviewState::InReview,
                effective: d("2027-02-01"),
            },
        ];
        let today = d("2026-11-27");
        let states: Vec<_> = versions
            .iter()
            .map(|v| display_state(v, &versions, today))
            .collect();
        assert_eq!(
            states,
            [
                DisplayState::Superseded,
                DisplayState::InForce,
                DisplayState::Scheduled,
                DisplayState::InReview
            ]
        );
        assert_eq!(in_force(&versions, d("2027-01-01")), Some(3));
        assert_eq!(in_force(&versions, d("2021-03-31")), None);
    }
}
