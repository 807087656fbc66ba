use portcullis_credentials::{new_access_key_id, new_secret_access_key};
use portcullis_types::KeyStatus;
use portcullis_store::{AccessKeyRecord, UserRecord};

use crate::auth::secret_aad;
use crate::users::named_or_caller;
use crate::{Authorized, Iam, IamError, IamResult, Page, PageRequest};

const KEYS_PER_USER: usize = 2;

/// A freshly created key: the only time the secret is ever returned.
pub struct NewAccessKey {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub status: KeyStatus,
    pub created_at: i64,
}

impl std::fmt::Debug for NewAccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccessKey").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct AccessKeyLastUsed {
    pub user_name: String,
    pub last_used_at: Option<i64>,
    pub service: String,
    pub region: String,
}

impl Iam {
    pub async fn create_access_key(&self, auth: &Authorized<'_>, user_name: Option<&str>) -> IamResult<NewAccessKey> {
        let mut tx = self.store.begin().await?;
        let owner = named_or_caller(&mut tx, auth, user_name).await?;
        tx.lock(&match &owner { Some(u) => format!("user:{}", u.user_id), None => format!("root:{}", auth.account()) }).await?;
        let existing = tx.access_keys_for(auth.account(), owner.as_ref().map(|u| u.user_id.as_str())).await?;
        if existing.len() >= KEYS_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}")));
        }
        let key = self.insert_new_key(&mut tx, auth.account(), owner.as_ref()).await?;
        tx.commit().await?;
        Ok(key)
    }

    pub(crate) async fn insert_new_key(&self, tx: &mut Box<dyn portcullis_store::Tx>, account: &str, owner: Option<&UserRecord>) -> IamResult<NewAccessKey> {
        let access_key_id = new_access_key_id("AKIA")?;
        let secret = new_secret_access_key()?;
        let rec = AccessKeyRecord {
            access_key_id: access_key_id.clone(),
            account_id: account.to_owned(),
            user_id: owner.map(|u| u.user_id.clone()),
            secret_sealed: self.secrets.seal(secret.as_bytes(), &secret_aad(&access_key_id))?,
            status: KeyStatus::Active,
            created_at: self.now(),
            last_used_at: None,
            last_used_service: None,
            last_used_region: None,
        };
        tx.insert_access_key(&rec).await?;
        Ok(NewAccessKey {
            user_name: owner.map(|u| u.name.clone()).unwrap_or_default(),
            access_key_id,
            secret_access_key: secret,
            status: rec.status,
            created_at: rec.created_at,
        })
    }

    /// (user name, key) pairs; the secret is never listed.
    pub async fn list_access_keys(&self, auth: &Authorized<'_>, user_name: Option<&str>, page: &PageRequest) -> IamResult<Page<(String, crate::views::AccessKey)>> {
        let mut tx = self.store.begin_read().await?;
        let owner = named_or_caller(&mut tx, auth, user_name).await?;
        let keys = tx.access_keys_for(auth.account(), owner.as_ref().map(|u| u.user_id.as_str())).await?;
        let name = owner.map(|u| u.name).unwrap_or_default();
        Page::from_all(keys.into_iter().map(|k| (name.clone(), k.into())).collect(), page)
    }

    async fn owned_key(&self, tx: &mut Box<dyn portcullis_store::Tx>, auth: &Authorized<'_>, user_name: Option<&str>, key_id: &str) -> IamResult<AccessKeyRecord> {
        let owner = named_or_caller(tx, auth, user_name).await?;
        let owner_id = owner.as_ref().map(|u| u.user_id.clone());
        tx.get_access_key(key_id)
            .await?
            .filter(|k| k.account_id == auth.account() && k.user_id == owner_id)
            .ok_or_else(|| IamError::NoSuchEntity(format!("The Access Key with id {key_id} cannot be found.")))
    }

    pub async fn update_access_key(&self, auth: &Authorized<'_>, user_name: Option<&str>, key_id: &str, status: KeyStatus) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let key = self.owned_key(&mut tx, auth, user_name, key_id).await?;
        tx.set_access_key_status(&key.access_key_id, status).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_access_key(&self, auth: &Authorized<'_>, user_name: Option<&str>, key_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let key = self.owned_key(&mut tx, auth, user_name, key_id).await?;
        tx.delete_access_key(&key.access_key_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn access_key_last_used(&self, auth: &Authorized<'_>, key_id: &str) -> IamResult<AccessKeyLastUsed> {
        let mut tx = self.store.begin_read().await?;
        let key = tx
            .get_access_key(key_id)
            .await?
            .filter(|k| k.account_id == auth.account())
            .ok_or_else(|| {
                IamError::AccessDenied(format!("User: {} is not authorized to perform iam:GetAccessKeyLastUsed on resource: access key {key_id}", auth.caller().arn()))
            })?;
        let user_name = match &key.user_id {
            Some(uid) => tx.get_user_by_id(uid).await?.map(|u| u.name).unwrap_or_default(),
            None => String::new(),
        };
        Ok(AccessKeyLastUsed {
            user_name,
            last_used_at: key.last_used_at,
            service: key.last_used_service.unwrap_or_else(|| "N/A".to_owned()),
            region: key.last_used_region.unwrap_or_else(|| "N/A".to_owned()),
        })
    }
}
