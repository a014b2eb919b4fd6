//! STYLE.md, Storage: the SQLite and PostgreSQL migrations are twins with the same names.

use std::collections::BTreeSet;
use std::path::Path;

fn names(dir: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_are_twins() {
    let sqlite = names("migrations/sqlite");
    let postgres = names("migrations/postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "every migration exists for both databases, under the same name"
    );
    for name in &sqlite {
        assert!(
            name.ends_with(".sql") && name.as_bytes()[..4].iter().all(u8::is_ascii_digit),
            "{name}"
        );
    }
}
