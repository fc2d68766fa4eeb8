//! Staff accounts, sessions and API tokens: the rules around the `users`, `sessions` and
//! `tokens` stores, shared by the CLI and the web area. Every change is audited.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::RngCore;

use crate::app::App;
use crate::domain::consent::{EmailAddress, FieldError};
use crate::domain::notice::sha256_hex;
use crate::domain::staff::{Password, Role};
use crate::store::tokens::ApiToken;
use crate::store::users::StaffUser;
use crate::store::{self, audit, is_unique_violation, sessions, tokens, users};

/// A session ends after this long without a request…
pub const SESSION_IDLE: TimeDelta = TimeDelta::minutes(30);
/// …and in any case this long after login.
pub const SESSION_ABSOLUTE: TimeDelta = TimeDelta::hours(12);
/// Failed logins are counted over this window.
pub const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);
/// After this many failures for one account within the window, it is locked for the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
/// After this many failures from one (truncated) client address, that address is locked.
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;

/// API tokens start with this, so they are recognisable in configuration and secret scanners.
pub const TOKEN_PREFIX: &str = "cdt_";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// argon2id with the crate's defaults (19 MiB, 2 passes), a random salt per password.
pub fn hash_password(password: &Password) -> String {
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes make a valid salt");
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .expect("argon2 hashing with default parameters cannot fail")
        .to_string()
}

pub fn verify_password(hash: &str, candidate: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Verified against when the account does not exist, so both cases take equally long.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash_password(&Password::parse("kein-echtes-Passwort-nur-Zeitausgleich", &[]).expect("strong"))
});

pub async fn add_user(
    app: &App,
    email: &str,
    role: Role,
    password: &str,
    actor: &str,
    ip: Option<&str>,
) -> Result<StaffUser, AccountError> {
    // Stored lower-case: one person, one account, whatever the capitalisation.
    let email = EmailAddress::parse_as(&email.to_lowercase(), "email")?;
    if !role.can_log_in() {
        return Err(FieldError::new(
            "role",
            "collector is a machine role: create an API token for it instead",
        )
        .into());
    }
    let password = Password::parse(password, &[email.as_str()])?;
    let hash = hash_password(&password);
    let user = match users::insert(
        &app.db,
        email.as_str(),
        role.as_str(),
        &hash,
        app.clock.now(),
    )
    .await
    {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e) => {
            return Err(AccountError::Conflict(
                "a user with this e-mail exists already".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &app.db,
        &app.clock,
        actor,
        "user.added",
        Some(&format!("user:{} role:{}", user.id, role.as_str())),
        ip,
    )
    .await?;
    Ok(user)
}

pub async fn disable_user(
    app: &App,
    user: StaffUser,
    actor: &str,
    ip: Option<&str>,
) -> Result<StaffUser, AccountError> {
    if !users::disable(&app.db, &user.id, app.clock.now()).await? {
        return Err(AccountError::Conflict(
            "this user is disabled already".into(),
        ));
    }
    audit::record(
        &app.db,
        &app.clock,
        actor,
        "user.disabled",
        Some(&format!("user:{}", user.id)),
        ip,
    )
    .await?;
    Ok(user)
}

/// Creates a token; returns it with its secret, which is shown once and never stored.
pub async fn create_token(
    app: &App,
    name: &str,
    role: Role,
    expires: Option<NaiveDate>,
    actor: &str,
    ip: Option<&str>,
) -> Result<(ApiToken, String), AccountError> {
    let name = name.trim();
    // Names appear in URLs (revocation) and in the audit trail: keep them plain.
    if name.is_empty()
        || name.len() > 100
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(FieldError::new(
            "name",
            "must be 1–100 characters: letters, digits, '-', '_' or '.'",
        )
        .into());
    }
    let now = app.clock.now();
    let expires_at = match expires {
        Some(date) => {
            // Valid through the given day in Berlin.
            let end = date
                .succ_opt()
                .and_then(crate::clock::berlin_day_start)
                .ok_or_else(|| FieldError::new("expires", "is not a valid date"))?;
            if end <= now {
                return Err(FieldError::new("expires", "must not be in the past").into());
            }
            Some(end)
        }
        None => None,
    };
    let secret = format!("{TOKEN_PREFIX}{}", random_secret());
    let token = ApiToken {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        token_sha256: sha256_hex(secret.as_bytes()),
        created_at: now,
        created_by: actor.to_owned(),
        expires_at,
        revoked_at: None,
        last_used_at: None,
    };
    match tokens::insert(&app.db, &token).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(AccountError::Conflict(format!(
                "a token named `{name}` exists already"
            )));
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &app.db,
        &app.clock,
        actor,
        "token.created",
        Some(&format!("token:{name} role:{}", role.as_str())),
        ip,
    )
    .await?;
    Ok((token, secret))
}

pub async fn revoke_token(
    app: &App,
    name: &str,
    actor: &str,
    ip: Option<&str>,
) -> Result<(), AccountError> {
    if !tokens::revoke(&app.db, name.trim(), app.clock.now()).await? {
        return Err(AccountError::NotFound(format!(
            "no active token named `{}`",
            name.trim()
        )));
    }
    audit::record(
        &app.db,
        &app.clock,
        actor,
        "token.revoked",
        Some(&format!("token:{}", name.trim())),
        ip,
    )
    .await?;
    Ok(())
}

/// The token behind an `Authorization: Bearer` value, if it is valid now.
pub async fn authenticate_token(app: &App, secret: &str) -> sqlx::Result<Option<ApiToken>> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let now = app.clock.now();
    let Some(token) = tokens::by_sha256(&app.db, &sha256_hex(secret.as_bytes())).await? else {
        return Ok(None);
    };
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) {
        return Ok(None);
    }
    tokens::touch(&app.db, &token.id, now).await?;
    Ok(Some(token))
}

pub enum LoginOutcome {
    /// The cookie secret and the CSRF token of the new session.
    LoggedIn {
        user: StaffUser,
        session_secret: String,
    },
    Invalid,
    /// Too many failures; try again after this long.
    Locked(TimeDelta),
}

pub async fn login(
    app: &App,
    email: &str,
    password: &str,
    ip_truncated: Option<&str>,
) -> sqlx::Result<LoginOutcome> {
    let now = app.clock.now();
    let email = email.trim().to_lowercase();
    // Looked up only when it could be an address (a NUL would not even reach the database).
    let user = match EmailAddress::parse_as(&email, "email") {
        Ok(parsed) => users::by_email(&app.db, parsed.as_str()).await?,
        Err(_) => None,
    };
    let user_id_owned = user.as_ref().map(|u| u.id.clone());
    let user_id = user_id_owned.as_deref();
    // The attempt counts as failed until it has succeeded: recorded before the (slow)
    // password check, so parallel guesses cannot all slip under the limit.
    // Counted per address typed, whether or not such an account exists.
    let account_key = sha256_hex(email.as_bytes());
    let attempt = users::record_failure(&app.db, &account_key, ip_truncated, now).await?;
    let (by_user, by_ip) =
        users::failures_since(&app.db, &account_key, ip_truncated, now - FAILURE_WINDOW).await?;
    if by_user > MAX_FAILURES_PER_ACCOUNT || by_ip > MAX_FAILURES_PER_ADDRESS {
        users::delete_failure(&app.db, &attempt).await?;
        audit::record(
            &app.db,
            &app.clock,
            &actor_for(user.as_ref()),
            "login.locked",
            user_id.map(|id| format!("user:{id}")).as_deref(),
            ip_truncated,
        )
        .await?;
        return Ok(LoginOutcome::Locked(FAILURE_WINDOW));
    }
    let valid = match &user {
        Some(u) => {
            verify_password(&u.password_hash, password)
                && u.disabled_at.is_none()
                && Role::parse(&u.role).is_some_and(Role::can_log_in)
        }
        None => {
            let _ = verify_password(&DUMMY_HASH, password);
            false
        }
    };
    let Some(user) = user.filter(|_| valid) else {
        // Unknown accounts are audited without the address typed: it may be anybody's.
        audit::record(
            &app.db,
            &app.clock,
            "anonymous",
            "login.failed",
            user_id.map(|id| format!("user:{id}")).as_deref(),
            ip_truncated,
        )
        .await?;
        return Ok(LoginOutcome::Invalid);
    };
    users::delete_failure(&app.db, &attempt).await?;
    users::clear_failures(&app.db, &account_key).await?;
    users::record_login(&app.db, &user.id, now).await?;
    let session_secret = random_secret();
    sessions::insert(
        &app.db,
        &sessions::Session {
            id_sha256: sha256_hex(session_secret.as_bytes()),
            user_id: user.id.clone(),
            csrf_token: random_secret(),
            created_at: now,
            last_seen_at: now,
        },
    )
    .await?;
    audit::record(
        &app.db,
        &app.clock,
        &actor_for(Some(&user)),
        "login.succeeded",
        None,
        ip_truncated,
    )
    .await?;
    Ok(LoginOutcome::LoggedIn {
        user,
        session_secret,
    })
}

fn actor_for(user: Option<&StaffUser>) -> String {
    user.map(|u| format!("user:{}", u.id))
        .unwrap_or_else(|| "anonymous".to_owned())
}

/// The signed-in user behind a session cookie, if the session is alive. Expired sessions
/// are deleted on sight.
pub async fn authenticate_session(
    app: &App,
    secret: &str,
) -> sqlx::Result<Option<(StaffUser, sessions::Session)>> {
    let id_sha256 = sha256_hex(secret.as_bytes());
    let Some(session) = sessions::by_id_sha256(&app.db, &id_sha256).await? else {
        return Ok(None);
    };
    let now = app.clock.now();
    if is_expired(session.created_at, session.last_seen_at, now) {
        sessions::delete(&app.db, &id_sha256).await?;
        return Ok(None);
    }
    let Some(user) = users::by_id(&app.db, &session.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
    else {
        sessions::delete(&app.db, &id_sha256).await?;
        return Ok(None);
    };
    sessions::touch(&app.db, &id_sha256, now).await?;
    Ok(Some((user, session)))
}

pub fn is_expired(
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    now - last_seen_at > SESSION_IDLE || now - created_at > SESSION_ABSOLUTE
}

pub async fn logout(
    app: &App,
    secret: &str,
    user: &StaffUser,
    ip: Option<&str>,
) -> sqlx::Result<()> {
    sessions::delete(&app.db, &sha256_hex(secret.as_bytes())).await?;
    audit::record(
        &app.db,
        &app.clock,
        &actor_for(Some(user)),
        "logout",
        None,
        ip,
    )
    .await?;
    Ok(())
}

/// True when no enabled admin exists yet (fresh install).
pub async fn needs_first_admin(db: &store::Db) -> sqlx::Result<bool> {
    Ok(users::active_admins(db).await? == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_argon2id_and_verify() {
        let password = Password::parse("Kiefernzapfen-Ostsee-Fahrrad-42", &[]).unwrap();
        let hash = hash_password(&password);
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "Kiefernzapfen-Ostsee-Fahrrad-42"));
        assert!(!verify_password(&hash, "Kiefernzapfen-Ostsee-Fahrrad-43"));
        assert_ne!(hash, hash_password(&password), "salted");
    }

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let t0 = DateTime::parse_from_rfc3339("2027-01-01T08:00:00Z")
            .unwrap()
            .to_utc();
        assert!(!is_expired(t0, t0, t0 + TimeDelta::minutes(29)));
        assert!(is_expired(t0, t0, t0 + TimeDelta::minutes(31)));
        assert!(is_expired(
            t0,
            t0 + TimeDelta::hours(12),
            t0 + TimeDelta::hours(12) + TimeDelta::minutes(1)
        ));
    }
}

/// Who did something, as people read it: `user:<id>` as the address of that account; other
/// actors (`token:<name>`, `cli`, `import:<file>`) as recorded, without the `import:` prefix.
pub struct ActorNames(std::collections::BTreeMap<String, String>);

impl ActorNames {
    pub async fn load(db: &store::Db) -> sqlx::Result<ActorNames> {
        Ok(Self::of(users::list(db).await?))
    }

    pub fn of(staff: Vec<StaffUser>) -> ActorNames {
        ActorNames(
            staff
                .into_iter()
                .map(|u| (format!("user:{}", u.id), u.email))
                .collect(),
        )
    }

    pub fn name(&self, actor: &str) -> String {
        self.0
            .get(actor)
            .cloned()
            .unwrap_or_else(|| actor.trim_start_matches("import:").to_owned())
    }
}
