//! Users in MongoDB's `users` collection, unique by username and by email (the indexes say
//! so, and the duplicate-key error names which).

use bson::oid::ObjectId;
use bson::{DateTime, doc};

use super::{MongoStore, map_error};
use crate::store::models::to_document;
use crate::store::{Identity, NewUser, StoreError, User, UserStore};

impl UserStore for MongoStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.ready().await?;
        let user = User {
            id: ObjectId::new(),
            username: user.username,
            email: user.email,
            password_hash: user.password_hash,
            created_at: DateTime::now(),
        };
        match self
            .users
            .insert_one(to_document(&user)?)
            .await
            .map_err(map_error)
        {
            Ok(_) => Ok(user),
            // The `_id` is fresh, so an unnamed duplicate is the username or the email.
            // MongoDB names the index in its message; FerretDB does not, so we look.
            Err(StoreError::Duplicate { field }) if field == "_id" => {
                let taken = self
                    .users
                    .find_one(doc! { "username": &user.username })
                    .await
                    .map_err(map_error)?;
                let field = if taken.is_some() { "username" } else { "email" };
                Err(StoreError::Duplicate {
                    field: field.into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn user_by_id(&self, id: ObjectId) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "_id": id }).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "username": username }).await
    }

    async fn identity_by_id(&self, id: ObjectId) -> Result<Option<Identity>, StoreError> {
        self.ready().await?;
        self.identities
            .find_one(doc! { "_id": id })
            .projection(doc! { "password_hash": 0 })
            .await
            .map_err(map_error)
    }

    async fn user_by_identifier(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        // Two queries rather than one `$or`, so a username match always wins.
        match self.find_user(doc! { "username": identifier }).await? {
            Some(user) => Ok(Some(user)),
            None => self.find_user(doc! { "email": identifier }).await,
        }
    }

    async fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        self.ready().await?;
        let result = self
            .users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "password_hash": password_hash } },
            )
            .await
            .map_err(map_error)?;
        Ok(result.matched_count > 0)
    }
}
