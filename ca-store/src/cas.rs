//! [`CaStore`]: keys and certificate authorities.

use ca_core::store::{CaRecord, CaStore, KeyRecord, StoreResult};
use diesel::prelude::*;

use crate::error::db_error;
use crate::models::{CaRow, KeyRow};
use crate::schema::{cas, keys};
use crate::Store;

impl CaStore for Store {
    fn insert_key(&self, key: &KeyRecord) -> StoreResult<()> {
        let op = format!("insert key {:?}", key.label);
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        diesel::insert_into(keys::table)
            .values(KeyRow::from(key))
            .execute(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        Ok(())
    }

    fn key(&self, label: &str) -> StoreResult<Option<KeyRecord>> {
        let op = format!("read key {label:?}");
        let mut conn = self.conn(&op)?;
        let row = keys::table
            .find(label)
            .select(KeyRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))?;
        Ok(row.map(KeyRecord::from))
    }

    fn list_keys(&self) -> StoreResult<Vec<KeyRecord>> {
        let op = "list keys";
        let mut conn = self.conn(op)?;
        let rows = keys::table
            .order(keys::label.asc())
            .select(KeyRow::as_select())
            .load(&mut conn)
            .map_err(|e| db_error(op, e))?;
        Ok(rows.into_iter().map(KeyRecord::from).collect())
    }

    fn insert_ca(&self, ca: &CaRecord) -> StoreResult<()> {
        let op = format!("insert CA {:?}", ca.name);
        let _turn = self.write_turn();
        let mut conn = self.conn(&op)?;
        diesel::insert_into(cas::table)
            .values(CaRow::from(ca))
            .execute(&mut conn)
            .map_err(|e| db_error(&op, e))?;
        Ok(())
    }

    fn ca(&self, name: &str) -> StoreResult<Option<CaRecord>> {
        let op = format!("read CA {name:?}");
        let mut conn = self.conn(&op)?;
        let row = cas::table
            .find(name)
            .select(CaRow::as_select())
            .first(&mut conn)
            .optional()
            .map_err(|e| db_error(&op, e))?;
        row.map(CaRecord::try_from).transpose()
    }

    fn list_cas(&self) -> StoreResult<Vec<CaRecord>> {
        let op = "list CAs";
        let mut conn = self.conn(op)?;
        let rows = cas::table
            .order((cas::created_at.asc(), cas::name.asc()))
            .select(CaRow::as_select())
            .load(&mut conn)
            .map_err(|e| db_error(op, e))?;
        rows.into_iter().map(CaRecord::try_from).collect()
    }
}
