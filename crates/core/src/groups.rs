use portcullis_credentials::new_unique_id;
use portcullis_store::{GroupRecord, PageQuery, PrincipalKind, Tx};

use crate::users::{conflict_or, delete_conflict, load_user};
use crate::{iam_arn, Authorized, Iam, IamError, IamResult, Page, PageRequest, UserView};

const GROUPS_PER_USER: usize = 10;

fn no_such_group(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
}

fn group_exists(name: &str) -> IamError {
    IamError::EntityAlreadyExists(format!("Group with name {name} already exists."))
}

pub(crate) async fn load_group(tx: &mut Box<dyn Tx>, account: &str, name: &str) -> IamResult<GroupRecord> {
    tx.get_group(account, name).await?.ok_or_else(|| no_such_group(name))
}

pub fn group_arn(g: &crate::views::Group) -> String {
    iam_arn(&g.account_id, "group", &g.path, &g.name)
}

impl Iam {
    pub async fn create_group(&self, auth: &Authorized<'_>, name: &str, path: Option<&str>) -> IamResult<crate::views::Group> {
        let mut tx = self.store.begin().await?;
        if tx.get_group(auth.account(), name).await?.is_some() {
            return Err(group_exists(name));
        }
        let group = GroupRecord {
            account_id: auth.account().to_owned(),
            group_id: new_unique_id("AGPA")?,
            name: name.to_owned(),
            path: path.unwrap_or("/").to_owned(),
            created_at: self.now(),
        };
        tx.insert_group(&group).await.map_err(|e| conflict_or(e, || group_exists(name)))?;
        tx.commit().await?;
        Ok(group.into())
    }

    /// GetGroup: the group and a page of its users.
    pub async fn get_group(&self, auth: &Authorized<'_>, name: &str, page: &PageRequest) -> IamResult<(crate::views::Group, Page<UserView>)> {
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let group = load_group(&mut tx, auth.account(), name).await?;
        let rows = tx
            .group_members(&group.group_id, &PageQuery { path_prefix: None, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let users = Page::from_keyset(rows, page, |u| u.name.to_lowercase());
        let users = Page {
            items: users
                .items
                .into_iter()
                .map(|u| UserView { arn: iam_arn(&u.account_id, "user", &u.path, &u.name), user: u, tags: Vec::new() })
                .collect(),
            marker: users.marker,
        };
        Ok((group.into(), users))
    }

    pub async fn list_groups(&self, auth: &Authorized<'_>, path_prefix: Option<&str>, page: &PageRequest) -> IamResult<Page<crate::views::Group>> {
        let after = page.after_key()?;
        let mut tx = self.store.begin_read().await?;
        let rows = tx
            .list_groups(auth.account(), &PageQuery { path_prefix, after: after.as_deref(), limit: page.limit() + 1 })
            .await?;
        let rows = rows.into_iter().map(crate::views::Group::from).collect();
        Ok(Page::from_keyset(rows, page, |g: &crate::views::Group| g.name.to_lowercase()))
    }

    pub async fn update_group(&self, auth: &Authorized<'_>, name: &str, new_name: Option<&str>, new_path: Option<&str>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let mut group = load_group(&mut tx, auth.account(), name).await?;
        if let Some(n) = new_name {
            if !n.eq_ignore_ascii_case(&group.name) && tx.get_group(auth.account(), n).await?.is_some() {
                return Err(group_exists(n));
            }
            group.name = n.to_owned();
        }
        if let Some(p) = new_path {
            group.path = p.to_owned();
        }
        tx.update_group(&group).await.map_err(|e| conflict_or(e, || group_exists(&group.name)))?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_group(&self, auth: &Authorized<'_>, name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let group = load_group(&mut tx, auth.account(), name).await?;
        let any_member = PageQuery { path_prefix: None, after: None, limit: 1 };
        if !tx.group_members(&group.group_id, &any_member).await?.is_empty() {
            return delete_conflict("remove users from group");
        }
        if !tx.inline_policy_names(PrincipalKind::Group, &group.group_id).await?.is_empty() {
            return delete_conflict("delete policies");
        }
        if !tx.attached_policies(PrincipalKind::Group, &group.group_id).await?.is_empty() {
            return delete_conflict("detach all policies");
        }
        tx.delete_group(&group.group_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_user_to_group(&self, auth: &Authorized<'_>, group_name: &str, user_name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        // When neither exists, AWS reports the user.
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let group = load_group(&mut tx, auth.account(), group_name).await?;
        tx.lock(&format!("user:{}", user.user_id)).await?;
        let current = tx.groups_for_user(&user.user_id).await?;
        if current.iter().any(|g| g.group_id == group.group_id) {
            return Ok(());
        }
        if current.len() >= GROUPS_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for GroupsPerUser: {GROUPS_PER_USER}")));
        }
        tx.add_group_member(&group.group_id, &user.user_id, self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn remove_user_from_group(&self, auth: &Authorized<'_>, group_name: &str, user_name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        let group = load_group(&mut tx, auth.account(), group_name).await?;
        // A user who is not a member is no error on AWS.
        tx.remove_group_member(&group.group_id, &user.user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_groups_for_user(&self, auth: &Authorized<'_>, user_name: &str, page: &PageRequest) -> IamResult<Page<crate::views::Group>> {
        let mut tx = self.store.begin_read().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        Page::from_all(tx.groups_for_user(&user.user_id).await?.into_iter().map(Into::into).collect(), page)
    }
}
