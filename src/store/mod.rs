//! All SQL lives here, for SQLite and PostgreSQL both.
//!
//! One [`Db`] value is chosen at runtime from the URL scheme; both drivers are always compiled
//! in. Each query is written once in portable SQL (`$1..$N`, BIGINT unix seconds, TEXT ids)
//! and run against the concrete pool through [`on_pool!`].

pub mod backchannel;
pub mod cleanup;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod copy;
pub mod keys;
pub mod login_failures;
pub mod refresh_tokens;
pub mod revocations;
pub mod sessions;
pub mod users;

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::config::{DatabaseOptions, DatabaseUrl};

/// A connection pool to one of the supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded default.
    Sqlite(SqlitePool),
    /// For several instances behind a load balancer.
    Postgres(PgPool),
}

/// Runs the same expression against whichever pool `db` holds.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Storage failures, as the service layer needs to tell them apart.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (duplicate user, client, active key).
    #[error("already exists")]
    Conflict,
    /// A stored value does not parse (a bug or a hand-edited row).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The `DATABASE_URL` scheme is neither sqlite nor postgres.
    #[error("unsupported DATABASE_URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// The database could not be reached or the statement failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The SQLite file's folder could not be created.
    #[error("cannot create the database folder: {0}")]
    Folder(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the database is unreachable, overloaded or timed out, rather than the request
    /// being wrong: worth a `503` and a retry, and over by itself when the database is back.
    pub fn is_unavailable(&self) -> bool {
        let Self::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(e) => e.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08…), too many connections, statement
                // timeout, shutting down or starting up. SQLite: busy, locked.
                code.starts_with("08")
                    || matches!(
                        &*code,
                        "53300" | "57014" | "57P01" | "57P02" | "57P03" | "5" | "6"
                    )
            }),
            _ => false,
        }
    }

    /// Maps a unique violation to [`StoreError::Conflict`].
    fn from_write(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::Database(e) if e.is_unique_violation() => Self::Conflict,
            _ => Self::Database(error),
        }
    }
}

impl Db {
    /// Connects to `url`, creating a SQLite file (and its folder) when missing. The pool
    /// connects lazily past its first connection and replaces broken connections by itself,
    /// so a database that comes back is used again without a restart.
    pub async fn connect(url: &DatabaseUrl, options: &DatabaseOptions) -> Result<Self, StoreError> {
        let text = url.expose();
        let timeout = options.statement_timeout;
        if text.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(text)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(timeout);
            if let Some(folder) = connect
                .get_filename()
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(folder)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections)
                // The pool's default pings an idle connection before lending it. A SQLite
                // connection is a handle to a local file on its own worker thread, so the
                // ping only proves that thread alive, at the price of a second round trip
                // to it for every statement (half the thread hand-offs of a code flow).
                .test_before_acquire(false)
                .acquire_timeout(timeout)
                .max_lifetime(options.max_lifetime)
                .connect_with(connect)
                .await?;
            Ok(Self::Sqlite(pool))
        } else if text.starts_with("postgres:") || text.starts_with("postgresql:") {
            let millis = timeout.as_millis().to_string();
            let connect = PgConnectOptions::from_str(text)?
                .options([("statement_timeout", millis.as_str())])
                .application_name("identity-backend");
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(timeout)
                .max_lifetime(options.max_lifetime)
                .connect_with(connect)
                .await?;
            Ok(Self::Postgres(pool))
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    /// Applies the embedded migrations for this database.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(pool) => sqlx::migrate!("migrations/sqlite").run(pool).await?,
            Self::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Connections (idle, in use) in the pool.
    pub fn pool_stats(&self) -> (u32, u32) {
        on_pool!(self, pool => {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            (idle, pool.size().saturating_sub(idle))
        })
    }

    /// Whether the database answers a trivial query (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// JSON text for a list column.
fn to_json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// A list column back from JSON text.
fn from_json_list(column: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|_| StoreError::Corrupt(format!("{column} is not a JSON list")))
}
