//! Staff: roles, who may use which route, and passwords that are worth having.

use serde::{Deserialize, Serialize};

use super::consent::FieldError;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Workshops, users and tokens, retention and reports.
    Admin,
    /// Reads and reviews notice versions.
    Lawyer,
    /// Read-only: consent records, ledger verification, reports.
    Auditor,
    /// The registration site: posts consents and nothing else. Tokens only.
    Collector,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Lawyer, Role::Auditor, Role::Collector];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Lawyer => "lawyer",
            Role::Auditor => "auditor",
            Role::Collector => "collector",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// People log in; the collector is a machine and only ever holds a token.
    pub fn can_log_in(self) -> bool {
        self != Role::Collector
    }
}

/// Who may use a route. Declared once per route in the route table; enforced by one
/// middleware, so no handler checks roles by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Anyone, including participants (whose capability is the token in the path) and
    /// anonymous visitors. Rate-limited per client.
    Public,
    /// Signed-in staff, or API tokens, with one of these roles.
    Staff(&'static [Role]),
}

impl Audience {
    pub const ADMIN: Audience = Audience::Staff(&[Role::Admin]);
    pub const ADMIN_AUDITOR: Audience = Audience::Staff(&[Role::Admin, Role::Auditor]);
    /// Every person with an account (not the collector).
    pub const STAFF: Audience = Audience::Staff(&[Role::Admin, Role::Lawyer, Role::Auditor]);
    /// Those who draft and submit notice versions.
    pub const AUTHORS: Audience = Audience::Staff(&[Role::Admin, Role::Lawyer]);
    /// Decisions on notice versions.
    pub const LAWYER: Audience = Audience::Staff(&[Role::Lawyer]);

    pub fn admits(self, role: Option<Role>) -> bool {
        match self {
            Audience::Public => true,
            Audience::Staff(roles) => role.is_some_and(|r| roles.contains(&r)),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Audience::Public => "public".to_owned(),
            Audience::Staff(roles) => roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// A password that may be hashed and stored: long enough, and not guessable.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;

    /// `user_inputs` (the e-mail address) count against the password, as an attacker would
    /// try them first.
    pub fn parse(raw: &str, user_inputs: &[&str]) -> Result<Password, FieldError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(FieldError::new(
                "password",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if raw.chars().count() > 1024 {
            return Err(FieldError::new(
                "password",
                "must be at most 1024 characters",
            ));
        }
        // zxcvbn checks against lists of the most common passwords, names and words, and
        // patterns such as keyboard walks and dates.
        let entropy = zxcvbn::zxcvbn(raw, user_inputs);
        if (entropy.score() as u8) < 3 {
            return Err(FieldError::new(
                "password",
                "is too easy to guess (a common password, word or pattern); use a longer passphrase",
            ));
        }
        Ok(Password(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences() {
        assert!(Audience::Public.admits(None));
        assert!(!Audience::ADMIN.admits(None));
        assert!(!Audience::ADMIN.admits(Some(Role::Auditor)));
        assert!(Audience::ADMIN_AUDITOR.admits(Some(Role::Auditor)));
        assert!(!Audience::STAFF.admits(Some(Role::Collector)));
    }

    #[test]
    fn weak_passwords_are_refused() {
        for weak in [
            "short",
            "password1234",
            "123456789012",
            "qwertyuiopasdf",
            "anna@example.org1",
        ] {
            assert!(
                Password::parse(weak, &["anna@example.org"]).is_err(),
                "{weak}"
            );
        }
        assert!(Password::parse("Kiefernzapfen-Ostsee-Fahrrad-42", &[]).is_ok());
    }
}
