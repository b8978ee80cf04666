//! Users in the embedded store: a table by `_id`, and two unique indexes, by username and by
//! email, checked and written in the same write transaction as the user (redb runs one write
//! transaction at a time, so two registrations cannot both take one name).

use bson::DateTime;
use bson::oid::ObjectId;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::format::{USERS_BY_EMAIL, USERS_BY_USERNAME, USERS_TABLE};
use super::record_cache::Changed;
use super::{EmbeddedStore, backend, begin_write, encode, get_doc, get_record};
use crate::store::models::to_document;
use crate::store::{Identity, NewUser, StoreError, User, UserStore};

impl UserStore for EmbeddedStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let user = User {
            id: ObjectId::new(),
            username: user.username,
            email: user.email,
            password_hash: user.password_hash,
            created_at: DateTime::now(),
        };
        let stored = user.clone();
        self.blocking(move |db, _| {
            let bytes = encode(&to_document(&stored)?)?;
            let key = stored.id.bytes();
            let txn = begin_write(db)?;
            {
                let mut by_username = txn.open_table(USERS_BY_USERNAME).map_err(backend)?;
                if by_username
                    .get(stored.username.as_str())
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::Duplicate {
                        field: "username".into(),
                    });
                }
                let mut by_email = txn.open_table(USERS_BY_EMAIL).map_err(backend)?;
                if let Some(email) = &stored.email {
                    if by_email.get(email.as_str()).map_err(backend)?.is_some() {
                        return Err(StoreError::Duplicate {
                            field: "email".into(),
                        });
                    }
                    by_email
                        .insert(email.as_str(), key.as_slice())
                        .map_err(backend)?;
                }
                by_username
                    .insert(stored.username.as_str(), key.as_slice())
                    .map_err(backend)?;
                let mut users = txn.open_table(USERS_TABLE).map_err(backend)?;
                users
                    .insert(key.as_slice(), bytes.as_slice())
                    .map_err(backend)?;
            }
            // Returning early above drops `txn`, which aborts it: nothing was written.
            txn.commit().map_err(backend)
        })
        .await?;
        Ok(user)
    }

    async fn user_by_id(&self, id: ObjectId) -> Result<Option<User>, StoreError> {
        self.read_through(
            self.cache.user(id).map(Some),
            |db| {
                let txn = db.begin_read().map_err(backend)?;
                let users = txn.open_table(USERS_TABLE).map_err(backend)?;
                get_record(&users, id.bytes().as_slice())
            },
            |cache, seen, user: &Option<User>| {
                if let Some(user) = user {
                    cache.remember_user(seen, user);
                }
            },
        )
    }

    async fn identity_by_id(&self, id: ObjectId) -> Result<Option<Identity>, StoreError> {
        let user = self.user_by_id(id).await?;
        Ok(user.as_ref().map(User::identity))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        user_by_index(&self.db, USERS_BY_USERNAME, username)
    }

    async fn user_by_identifier(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        match user_by_index(&self.db, USERS_BY_USERNAME, identifier)? {
            Some(user) => Ok(Some(user)),
            None => user_by_index(&self.db, USERS_BY_EMAIL, identifier),
        }
    }

    async fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let password_hash = password_hash.to_string();
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            let found = {
                let mut users = txn.open_table(USERS_TABLE).map_err(backend)?;
                match get_doc(&users, &id.bytes())? {
                    Some(mut doc) => {
                        doc.insert("password_hash", password_hash);
                        users
                            .insert(id.bytes().as_slice(), encode(&doc)?.as_slice())
                            .map_err(backend)?;
                        true
                    }
                    None => false,
                }
            };
            txn.commit().map_err(backend)?;
            cache.forget(&Changed {
                user: Some(id),
                ..Changed::default()
            });
            Ok(found)
        })
        .await
    }
}

/// Looks a user up through one of the unique index tables.
fn user_by_index(
    db: &Database,
    index: TableDefinition<&str, &[u8]>,
    value: &str,
) -> Result<Option<User>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let index = txn.open_table(index).map_err(backend)?;
    let Some(id) = index.get(value).map_err(backend)? else {
        return Ok(None);
    };
    let users = txn.open_table(USERS_TABLE).map_err(backend)?;
    get_record(&users, id.value())
}
