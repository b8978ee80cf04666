//! The login throttle's shared counts in `login_attempts`: one document per key and window,
//! reserved with one conditional upsert (the whole story is in
//! [`attempts`](crate::store::attempts)).

use std::time::Duration;

use bson::{DateTime, doc};

use super::sessions::delete_expired_in;
use super::{MongoStore, map_error};
use crate::store::StoreError;
use crate::store::attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule, Slot};

impl AttemptStore for MongoStore {
    async fn reserve_attempt(
        &self,
        kind: AttemptKind,
        key: &str,
        rule: Rule,
    ) -> Result<Reservation, StoreError> {
        self.ready().await?;
        if rule.limit == 0 {
            return Ok(Reservation::Refused { wait: rule.window });
        }
        // The window this moment falls in, counted from the epoch, and when it ends.
        let window = i64::try_from(rule.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let now = DateTime::now().timestamp_millis();
        let number = now.div_euclid(window);
        let end = number.saturating_add(1).saturating_mul(window);
        let id = format!("{}:{number}:{key}", kind.as_str());
        let limit = i64::try_from(rule.limit).unwrap_or(i64::MAX);
        let below_limit = doc! { "_id": &id, "count": { "$lt": limit } };
        let count = doc! {
            "$inc": { "count": 1_i64 },
            "$setOnInsert": { "expireAt": DateTime::from_millis(end) },
        };
        let upserted = self
            .login_attempts
            .update_one(below_limit.clone(), count.clone())
            .upsert(true)
            .await
            .map_err(map_error);
        let reserved = match upserted {
            Ok(_) => true,
            // The filter matched nothing and the insert collided with the window's
            // document: either it is at the limit, or another attempt created it a moment
            // ago (two first attempts racing). Without the upsert, only the second case
            // counts.
            Err(StoreError::Duplicate { .. }) => {
                let counted = self
                    .login_attempts
                    .update_one(below_limit, count)
                    .await
                    .map_err(map_error)?;
                counted.matched_count == 1
            }
            Err(error) => return Err(error),
        };
        if reserved {
            Ok(Reservation::Reserved(Reserved(Slot::Window(id))))
        } else {
            let wait = u64::try_from(end.saturating_sub(now)).unwrap_or(1).max(1);
            Ok(Reservation::Refused {
                wait: Duration::from_millis(wait),
            })
        }
    }

    async fn release_attempt(&self, attempt: Reserved) -> Result<(), StoreError> {
        let Slot::Window(id) = attempt.0 else {
            return Ok(());
        };
        self.ready().await?;
        self.login_attempts
            .update_one(
                doc! { "_id": id, "count": { "$gt": 0 } },
                doc! { "$inc": { "count": -1_i64 } },
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn clear_attempts(&self, attempt: Reserved) -> Result<(), StoreError> {
        let Slot::Window(id) = attempt.0 else {
            return Ok(());
        };
        self.ready().await?;
        self.login_attempts
            .delete_one(doc! { "_id": id })
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn delete_expired_attempts(
        &self,
        now: DateTime,
        at_most: usize,
    ) -> Result<u64, StoreError> {
        self.ready().await?;
        delete_expired_in(&self.login_attempts, now, at_most).await
    }
}
