//! Adopting a database of the earlier Python version in place: every old row survives, the
//! sibling redeem bot's `redeems` is untouched, and its plain inserts keep working.

#[macro_use]
mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::{create_python_schema, Db, ALL_TABLES_AND_VIEWS};
use migrations::{apply_pending, roll_back};

on_both_backends!(
    adopts_python_schema_without_touching_old_rows,
    adoption_refuses_a_negative_balance_and_changes_nothing,
);

const OLD_USERS: &[&str] = &[
    "user_id",
    "balance",
    "total_topup",
    "total_spent",
    "created_at",
    "updated_at",
];
const OLD_TOPUPS: &[&str] = &[
    "id",
    "user_id",
    "amount",
    "order_id",
    "status",
    "payment_type",
    "bot_source",
    "created_at",
    "updated_at",
];

struct Before {
    users: Vec<String>,
    topups: Vec<String>,
    redeems: Vec<String>,
    redeems_columns: Vec<String>,
    redeems_indexes: Vec<String>,
}

async fn take(db: &Db) -> anyhow::Result<Before> {
    Ok(Before {
        users: db.snapshot_of("users", OLD_USERS, "user_id").await?,
        topups: db.snapshot_of("topups", OLD_TOPUPS, "id").await?,
        redeems: db.snapshot("redeems", "id").await?,
        redeems_columns: db.columns("redeems").await?,
        redeems_indexes: db.indexes_on("redeems").await?,
    })
}

async fn assert_old_data_intact(db: &Db, before: &Before) -> anyhow::Result<()> {
    assert_eq!(
        db.snapshot_of("users", OLD_USERS, "user_id").await?,
        before.users
    );
    assert_eq!(
        db.snapshot_of("topups", OLD_TOPUPS, "id").await?,
        before.topups
    );
    assert_eq!(db.snapshot("redeems", "id").await?, before.redeems);
    assert_eq!(db.columns("redeems").await?, before.redeems_columns);
    assert_eq!(db.indexes_on("redeems").await?, before.redeems_indexes);
    assert!(db.triggers_on("redeems").await?.is_empty());
    Ok(())
}

async fn adopts_python_schema_without_touching_old_rows(db: Db) -> anyhow::Result<()> {
    create_python_schema(&db).await?;
    let before = take(&db).await?;
    assert_eq!(before.users.len(), 3);
    assert_eq!(before.topups.len(), 4);

    apply_pending(&db.conn, None).await?;

    let mut expected: Vec<&str> = ALL_TABLES_AND_VIEWS.to_vec();
    expected.push("redeems");
    expected.sort();
    assert_eq!(db.relations().await?, expected);
    assert_old_data_intact(&db, &before).await?;

    // New columns are there, and empty on old rows.
    assert!(db.columns("users").await?.contains(&"username".to_owned()));
    let topups_columns = db.columns("topups").await?;
    for column in [
        "transaction_id",
        "midtrans_status",
        "qr_string",
        "expires_at",
        "request_id",
        "paid_at",
    ] {
        assert!(topups_columns.contains(&column.to_owned()), "{column}");
        let set: i64 = db
            .one(&format!(
                "SELECT COUNT(*) AS v FROM topups WHERE {column} IS NOT NULL"
            ))
            .await?;
        assert_eq!(set, 0, "{column}");
    }

    // Old timestamps decode as the documented entity type, unchanged.
    let created: NaiveDateTime = db
        .one("SELECT created_at AS v FROM users WHERE user_id = 111111111111111111")
        .await?;
    let expected = NaiveDate::from_ymd_opt(2024, 3, 1)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .ok_or_else(|| anyhow::anyhow!("bad date"))?;
    assert_eq!(created, expected);

    // The sibling bot's plain statements still work and still get its defaults.
    for sql in [
        "INSERT INTO users (user_id, balance) VALUES (444444444444444444, 5000)",
        "INSERT INTO topups (user_id, amount, order_id) VALUES (444444444444444444, 10000, 'REDEEM-444-1')",
        "UPDATE topups SET status = 'success', updated_at = CURRENT_TIMESTAMP WHERE order_id = 'REDEEM-444-1'",
        "UPDATE users SET balance = balance + 10000, total_topup = total_topup + 10000 WHERE user_id = 444444444444444444",
        "INSERT INTO redeems (user_id, code) VALUES (444444444444444444, 'RF-EEEE-FFFF')",
        "UPDATE users SET balance = balance - 1000, total_spent = total_spent + 1000 WHERE user_id = 444444444444444444",
    ] {
        db.exec(sql).await?;
    }
    let row: String = db
        .one("SELECT status || '|' || bot_source AS v FROM topups WHERE order_id = 'REDEEM-444-1'")
        .await?;
    assert_eq!(row, "success|redeem");
    db.exec("INSERT INTO topups (user_id, amount, order_id) VALUES (444444444444444444, 20000, 'REDEEM-444-2')")
        .await?;
    let row: String = db
        .one("SELECT status || '|' || bot_source AS v FROM topups WHERE order_id = 'REDEEM-444-2'")
        .await?;
    assert_eq!(row, "pending|redeem");
    assert_eq!(
        db.one::<i64>("SELECT balance AS v FROM users WHERE user_id = 444444444444444444")
            .await?,
        14000
    );
    assert_eq!(
        db.one::<i64>("SELECT COUNT(*) AS v FROM users WHERE user_id = 444444444444444444 AND balance = 14000 AND total_topup = 10000 AND total_spent = 1000")
            .await?,
        1
    );

    // Our own rows live beside theirs; the balance guard now holds on the adopted table.
    db.exec("INSERT INTO topups (user_id, amount, order_id, bot_source, request_id) VALUES (111111111111111111, 50000, 'ORDER-111-1700000000', 'order', 'interaction-1')")
        .await?;
    db.exec("INSERT INTO orders (order_number, request_id, user_id, package_size, code_quantity, total_price) VALUES ('RF-1', 'interaction-2', 111111111111111111, 1, 1, 15000)")
        .await?;
    assert!(db
        .try_exec("UPDATE users SET balance = -1 WHERE user_id = 222222222222222222")
        .await
        .is_err());
    assert!(db
        .try_exec("INSERT INTO users (user_id, balance) VALUES (555, -1)")
        .await
        .is_err());

    // Second up is a no-op; a full down keeps everything the sibling bot has; up again works.
    let after_up = take(&db).await?;
    apply_pending(&db.conn, None).await?;
    assert_old_data_intact(&db, &after_up).await?;
    roll_back(&db.conn, 100).await?;
    assert_eq!(db.relations().await?, ["redeems", "topups", "users"]);
    assert_old_data_intact(&db, &after_up).await?;
    apply_pending(&db.conn, None).await?;
    assert_old_data_intact(&db, &after_up).await?;
    Ok(())
}

async fn adoption_refuses_a_negative_balance_and_changes_nothing(db: Db) -> anyhow::Result<()> {
    create_python_schema(&db).await?;
    db.exec("UPDATE users SET balance = -500 WHERE user_id = 222222222222222222")
        .await?;
    let before = take(&db).await?;
    let users_columns = db.columns("users").await?;
    let topups_columns = db.columns("topups").await?;

    let err = apply_pending(&db.conn, None)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("adoption accepted a negative balance"))?;
    let message = err.to_string();
    assert!(message.contains("negative"), "{message}");
    assert!(message.contains("users"), "{message}");

    // The whole run was one transaction: nothing at all was added.
    assert_eq!(db.relations().await?, ["redeems", "topups", "users"]);
    assert_eq!(db.columns("users").await?, users_columns);
    assert_eq!(db.columns("topups").await?, topups_columns);
    assert!(db.triggers_on("users").await?.is_empty());
    assert_old_data_intact(&db, &before).await?;

    // Once the operator corrects the row, adoption goes through.
    db.exec("UPDATE users SET balance = 0 WHERE user_id = 222222222222222222")
        .await?;
    apply_pending(&db.conn, None).await?;
    assert!(db.columns("users").await?.contains(&"username".to_owned()));
    Ok(())
}

#[tokio::test]
async fn adoption_refuses_a_null_balance_on_postgres() -> anyhow::Result<()> {
    let db = Db::pg().await?;
    create_python_schema(&db).await?;
    db.exec("UPDATE users SET total_spent = NULL WHERE user_id = 333333333333333333")
        .await?;
    let err = apply_pending(&db.conn, None)
        .await
        .err()
        .ok_or_else(|| anyhow::anyhow!("adoption accepted a NULL total_spent"))?;
    assert!(err.to_string().contains("total_spent = NULL"), "{err}");
    assert!(!db.columns("users").await?.contains(&"username".to_owned()));
    Ok(())
}
