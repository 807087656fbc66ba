//! The operations Portcullis serves, in one table per service: for each, what the
//! authorizer decides it on (the action is `SERVICE:Name`; the resource comes from its
//! [`Target`]; request context keys from its parameters), whether it changes anything, and
//! how it is authorized. The API dispatches by these enums (its handlers match on them
//! exhaustively, so an operation without a handler does not compile), the console
//! authorizes its actions through the same targets, and `docs/api-coverage.md` is made
//! from the tables. Adding an operation is one row here and one handler.

use portcullis_protocol::QueryParams;

use crate::{AuthzRequest, Authorized, Caller, Iam, IamError, IamResult, ResourceKind};

/// What an operation's resource ARN is, for the authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// No resource of its own: `*`.
    Any,
    /// The caller itself (its user ARN, `…:root`, or its assumed-role ARN).
    Caller,
    /// The account's entities of a kind, for a listing: `arn:aws:iam::ACCOUNT:user/`.
    Listing(&'static str),
    /// An entity being created, from `Path` and the name parameter: (ARN kind, parameter).
    New(&'static str, &'static str),
    /// The group in `GroupName`, with its path.
    Group,
    /// The role in `RoleName`, with its path and tags.
    Role,
    /// The user in `UserName`, with its path and tags.
    User,
    /// The user in `UserName`, or the caller when there is none (its own credentials).
    UserOrCaller,
    /// An ARN given in a parameter (`*` when absent).
    Arn(&'static str),
    /// The user owning the access key in `AccessKeyId` (the caller when no user owns it).
    AccessKeyOwner,
    /// The instance profile in `InstanceProfileName`, with its path.
    InstanceProfile,
    /// The OpenID Connect provider CreateOpenIDConnectProvider would make from `Url`.
    OidcProviderFromUrl,
    /// The role CreateServiceLinkedRole makes for `AWSServiceName`.
    ServiceLinkedRole,
    /// The server certificate in `ServerCertificateName`, with its path.
    ServerCertificate,
    /// The federated user GetFederationToken names: `arn:aws:sts::ACCOUNT:federated-user/Name`.
    FederatedUser,
    /// An object of the caller's organization named by a parameter (a policy, account, unit,
    /// root or handshake id): its Organizations ARN.
    OrgObject(&'static str),
    /// The identity store in `IdentityStoreId`: `arn:aws:identitystore::ACCOUNT:identitystore/d-…`.
    IdentityStore,
    /// The account an Account Management request is about (`AccountId`, else the caller's):
    /// `arn:aws:account::ACCOUNT:account` or, for a member, `…:account/o-…/MEMBER`.
    AccountResource,
}

/// An Update* call that can rename or move an entity: the caller must also be allowed the
/// action on the entity's new ARN, as AWS requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename {
    /// The ARN's resource type (`user`).
    pub kind: &'static str,
    pub resource: ResourceKind,
    /// The parameters naming the entity, its new name and its new path.
    pub name: &'static str,
    pub new_name: &'static str,
    pub new_path: &'static str,
}

const RENAME_USER: Rename = Rename { kind: "user", resource: ResourceKind::User, name: "UserName", new_name: "NewUserName", new_path: "NewPath" };
const RENAME_GROUP: Rename = Rename { kind: "group", resource: ResourceKind::Group, name: "GroupName", new_name: "NewGroupName", new_path: "NewPath" };
const RENAME_SERVER_CERTIFICATE: Rename = Rename {
    kind: "server-certificate",
    resource: ResourceKind::ServerCertificate,
    name: "ServerCertificateName",
    new_name: "NewServerCertificateName",
    new_path: "NewPath",
};

/// Condition keys an operation adds from its own parameters, beyond the ones every
/// operation gets (tags, policy ARNs, boundaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKeys {
    None,
    /// GetWebIdentityToken: `sts:IdentityTokenAudience`, `sts:DurationSeconds`, `sts:SigningAlgorithm`.
    WebIdentityToken,
}

impl OperationKeys {
    fn add(self, mut req: AuthzRequest, p: &QueryParams) -> AuthzRequest {
        match self {
            Self::None => {}
            Self::WebIdentityToken => {
                req = req
                    .with("sts:IdentityTokenAudience", p.string_list("Audience"))
                    .with("sts:DurationSeconds", vec![p.get("DurationSeconds").unwrap_or("300").to_owned()])
                    .with("sts:SigningAlgorithm", vec![p.get("SigningAlgorithm").unwrap_or_default().to_owned()]);
            }
        }
        req
    }
}

/// How an operation is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorization {
    /// The caller's policies (with boundaries, session policies and resource policies).
    Policies,
    /// ChangePassword: the password policy's `AllowUsersToChangePassword`, or the policies.
    ChangePassword,
    /// Cannot be denied by any policy (GetCallerIdentity, GetSessionToken), as in AWS.
    Always,
    /// Decided by the operation itself with the target's resource policy (AssumeRole and
    /// the role's trust policy), through the same decision function.
    ResourcePolicy,
    /// Not signed: the request carries its own proof (a web identity token), and the role's
    /// trust policy decides, inside the operation, through the same decision function.
    Unsigned,
}

/// One operation's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The action's service prefix (`iam`, `sts`).
    pub service: &'static str,
    pub name: &'static str,
    pub target: Target,
    /// Changes stored state (so cached authorization data may be stale after it).
    pub writes: bool,
    pub authorization: Authorization,
    /// Answered with an empty listing for now (the feature behind it comes later), so that
    /// tools that list before deleting keep working.
    pub placeholder: bool,
    /// Also needs `iam:PassRole` on the role in `RoleName` (AddRoleToInstanceProfile), as
    /// AWS requires of whoever puts a role where a service will use it.
    pub passes_role: bool,
    /// Renames or moves its entity (authorized on the new ARN too).
    pub renames: Option<Rename>,
    /// Condition keys of its own.
    pub keys: OperationKeys,
}

impl Spec {
    pub fn action(&self) -> String {
        format!("{}:{}", self.service, self.name)
    }
}

macro_rules! operations {
    (@authz) => { Authorization::Policies };
    (@authz $a:ident) => { Authorization::$a };
    (@writes write) => { true };
    (@writes read) => { false };
    (@placeholder) => { false };
    (@placeholder placeholder $($rest:ident)*) => { true };
    (@placeholder $other:ident $($rest:ident)*) => { operations!(@placeholder $($rest)*) };
    (@passes_role) => { false };
    (@passes_role passes_role $($rest:ident)*) => { true };
    (@passes_role $other:ident $($rest:ident)*) => { operations!(@passes_role $($rest)*) };
    (@renames) => { None };
    (@renames $r:ident) => { Some($r) };
    (@keys) => { OperationKeys::None };
    (@keys $k:ident) => { OperationKeys::$k };
    (
        $(#[$doc:meta])* $enum:ident, $service:literal;
        $( $name:ident => $target:expr, $rw:ident $(, authorization = $authz:ident)? $(, renames = $renames:ident)? $(, keys = $keys:ident)? $(, @$flag:ident)*; )*
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $enum { $($name),* }

        impl $enum {
            pub const ALL: &'static [$enum] = &[$($enum::$name),*];

            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($name) => Some(Self::$name),)*
                    _ => None,
                }
            }

            pub fn spec(self) -> Spec {
                #[allow(unused_imports)]
                use Target::*;
                match self {
                    $(Self::$name => Spec {
                        service: $service,
                        name: stringify!($name),
                        target: $target,
                        writes: operations!(@writes $rw),
                        authorization: operations!(@authz $($authz)?),
                        placeholder: operations!(@placeholder $($flag)*),
                        passes_role: operations!(@passes_role $($flag)*),
                        renames: operations!(@renames $($renames)?),
                        keys: operations!(@keys $($keys)?),
                    },)*
                }
            }

            pub fn name(self) -> &'static str {
                self.spec().name
            }
        }
    };
}

operations! {
    /// The IAM operations Portcullis serves.
    IamOperation, "iam";
    AddUserToGroup => Group, write;
    AttachGroupPolicy => Group, write;
    AttachRolePolicy => Role, write;
    AttachUserPolicy => User, write;
    ChangePassword => Caller, write, authorization = ChangePassword;
    CreateAccessKey => UserOrCaller, write;
    CreateAccountAlias => Any, write;
    CreateGroup => New("group", "GroupName"), write;
    CreateLoginProfile => UserOrCaller, write;
    CreatePolicy => New("policy", "PolicyName"), write;
    CreatePolicyVersion => Arn("PolicyArn"), write;
    CreateRole => New("role", "RoleName"), write;
    CreateUser => New("user", "UserName"), write;
    CreateVirtualMFADevice => New("mfa", "VirtualMFADeviceName"), write;
    DeactivateMFADevice => UserOrCaller, write;
    DeleteAccessKey => UserOrCaller, write;
    DeleteAccountAlias => Any, write;
    DeleteAccountPasswordPolicy => Any, write;
    DeleteGroup => Group, write;
    DeleteGroupPolicy => Group, write;
    DeleteLoginProfile => UserOrCaller, write;
    DeletePolicy => Arn("PolicyArn"), write;
    DeletePolicyVersion => Arn("PolicyArn"), write;
    DeleteRole => Role, write;
    DeleteRolePermissionsBoundary => Role, write;
    DeleteRolePolicy => Role, write;
    DeleteUser => User, write;
    DeleteUserPermissionsBoundary => User, write;
    DeleteUserPolicy => User, write;
    DeleteVirtualMFADevice => Arn("SerialNumber"), write;
    DetachGroupPolicy => Group, write;
    DetachRolePolicy => Role, write;
    DetachUserPolicy => User, write;
    EnableMFADevice => User, write;
    GenerateCredentialReport => Any, write;
    GetAccessKeyLastUsed => AccessKeyOwner, read;
    GetAccountAuthorizationDetails => Any, read;
    GetAccountPasswordPolicy => Any, read;
    GetAccountSummary => Any, read;
    GetContextKeysForCustomPolicy => Any, read;
    GetContextKeysForPrincipalPolicy => Arn("PolicySourceArn"), read;
    GetCredentialReport => Any, read;
    GetGroup => Group, read;
    GetGroupPolicy => Group, read;
    GetLoginProfile => UserOrCaller, read;
    GetMFADevice => Arn("SerialNumber"), read;
    GetPolicy => Arn("PolicyArn"), read;
    GetPolicyVersion => Arn("PolicyArn"), read;
    GetRole => Role, read;
    GetRolePolicy => Role, read;
    GetUser => UserOrCaller, read;
    GetUserPolicy => User, read;
    ListAccessKeys => UserOrCaller, read;
    ListAccountAliases => Any, read;
    ListAttachedGroupPolicies => Group, read;
    ListAttachedRolePolicies => Role, read;
    ListAttachedUserPolicies => User, read;
    ListEntitiesForPolicy => Arn("PolicyArn"), read;
    ListGroupPolicies => Group, read;
    ListGroups => Listing("group/"), read;
    ListGroupsForUser => User, read;
    ListInstanceProfilesForRole => Role, read;
    AddRoleToInstanceProfile => InstanceProfile, write, @passes_role;
    CreateInstanceProfile => New("instance-profile", "InstanceProfileName"), write;
    DeleteInstanceProfile => InstanceProfile, write;
    GetInstanceProfile => InstanceProfile, read;
    ListInstanceProfiles => Listing("instance-profile/"), read;
    ListInstanceProfileTags => InstanceProfile, read;
    RemoveRoleFromInstanceProfile => InstanceProfile, write;
    TagInstanceProfile => InstanceProfile, write;
    CreateServiceLinkedRole => ServiceLinkedRole, write;
    UploadServerCertificate => New("server-certificate", "ServerCertificateName"), write;
    GetServerCertificate => ServerCertificate, read;
    ListServerCertificates => Listing("server-certificate/"), read;
    UpdateServerCertificate => ServerCertificate, write, renames = RENAME_SERVER_CERTIFICATE;
    DeleteServerCertificate => ServerCertificate, write;
    TagServerCertificate => ServerCertificate, write;
    UntagServerCertificate => ServerCertificate, write;
    ListServerCertificateTags => ServerCertificate, read;
    SetSecurityTokenServicePreferences => Any, write;
    ListPoliciesGrantingServiceAccess => Any, read;
    GenerateServiceLastAccessedDetails => Arn("Arn"), read;
    CreateDelegationRequest => Any, write;
    GetDelegationRequest => Any, read;
    ListDelegationRequests => Any, read;
    AssociateDelegationRequest => Any, write;
    UpdateDelegationRequest => Any, write;
    AcceptDelegationRequest => Any, write;
    RejectDelegationRequest => Any, write;
    SendDelegationToken => Any, write;
    GetHumanReadableSummary => Any, read;
    GenerateOrganizationsAccessReport => Any, read;
    GetOrganizationsAccessReport => Any, read;
    ListOrganizationsFeatures => Any, read;
    EnableOrganizationsRootCredentialsManagement => Any, write;
    DisableOrganizationsRootCredentialsManagement => Any, write;
    EnableOrganizationsRootSessions => Any, write;
    DisableOrganizationsRootSessions => Any, write;
    GetServiceLastAccessedDetails => Any, read;
    GetServiceLastAccessedDetailsWithEntities => Any, read;
    EnableOutboundWebIdentityFederation => Any, write;
    DisableOutboundWebIdentityFederation => Any, write;
    GetOutboundWebIdentityFederationInfo => Any, read;
    CreateSAMLProvider => New("saml-provider", "Name"), write;
    GetSAMLProvider => Arn("SAMLProviderArn"), read;
    ListSAMLProviders => Any, read;
    UpdateSAMLProvider => Arn("SAMLProviderArn"), write;
    DeleteSAMLProvider => Arn("SAMLProviderArn"), write;
    TagSAMLProvider => Arn("SAMLProviderArn"), write;
    UntagSAMLProvider => Arn("SAMLProviderArn"), write;
    ListSAMLProviderTags => Arn("SAMLProviderArn"), read;
    DeleteServiceLinkedRole => Role, write;
    GetServiceLinkedRoleDeletionStatus => Any, read;
    AddClientIDToOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), write;
    CreateOpenIDConnectProvider => OidcProviderFromUrl, write;
    DeleteOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), write;
    GetOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), read;
    ListOpenIDConnectProviders => Any, read;
    ListOpenIDConnectProviderTags => Arn("OpenIDConnectProviderArn"), read;
    RemoveClientIDFromOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), write;
    TagOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), write;
    UntagOpenIDConnectProvider => Arn("OpenIDConnectProviderArn"), write;
    UpdateOpenIDConnectProviderThumbprint => Arn("OpenIDConnectProviderArn"), write;
    UntagInstanceProfile => InstanceProfile, write;
    ListMFADeviceTags => Arn("SerialNumber"), read;
    ListMFADevices => UserOrCaller, read;
    ListPolicies => Listing("policy/"), read;
    ListPolicyTags => Arn("PolicyArn"), read;
    ListPolicyVersions => Arn("PolicyArn"), read;
    ListRolePolicies => Role, read;
    ListRoleTags => Role, read;
    ListRoles => Listing("role/"), read;
    ListSSHPublicKeys => UserOrCaller, read;
    ListServiceSpecificCredentials => UserOrCaller, read;
    ListSigningCertificates => UserOrCaller, read;
    UploadSSHPublicKey => User, write;
    GetSSHPublicKey => User, read;
    UpdateSSHPublicKey => User, write;
    DeleteSSHPublicKey => User, write;
    UploadSigningCertificate => UserOrCaller, write;
    UpdateSigningCertificate => UserOrCaller, write;
    DeleteSigningCertificate => UserOrCaller, write;
    CreateServiceSpecificCredential => User, write;
    ResetServiceSpecificCredential => UserOrCaller, write;
    UpdateServiceSpecificCredential => UserOrCaller, write;
    DeleteServiceSpecificCredential => UserOrCaller, write;
    ListUserPolicies => User, read;
    ListUserTags => User, read;
    ListUsers => Listing("user/"), read;
    ListVirtualMFADevices => Any, read;
    PutGroupPolicy => Group, write;
    PutRolePermissionsBoundary => Role, write;
    PutRolePolicy => Role, write;
    PutUserPermissionsBoundary => User, write;
    PutUserPolicy => User, write;
    RemoveUserFromGroup => Group, write;
    ResyncMFADevice => User, write;
    SetDefaultPolicyVersion => Arn("PolicyArn"), write;
    SimulateCustomPolicy => Any, read;
    SimulatePrincipalPolicy => Arn("PolicySourceArn"), read;
    TagMFADevice => Arn("SerialNumber"), write;
    TagPolicy => Arn("PolicyArn"), write;
    TagRole => Role, write;
    TagUser => User, write;
    UntagMFADevice => Arn("SerialNumber"), write;
    UntagPolicy => Arn("PolicyArn"), write;
    UntagRole => Role, write;
    UntagUser => User, write;
    UpdateAccessKey => UserOrCaller, write;
    UpdateAccountPasswordPolicy => Any, write;
    UpdateAssumeRolePolicy => Role, write;
    UpdateGroup => Group, write, renames = RENAME_GROUP;
    UpdateLoginProfile => User, write;
    UpdateRole => Role, write;
    UpdateRoleDescription => Role, write;
    UpdateUser => User, write, renames = RENAME_USER;
}

operations! {
    /// The STS operations Portcullis serves.
    StsOperation, "sts";
    AssumeRole => Arn("RoleArn"), write, authorization = ResourcePolicy;
    AssumeRoleWithSAML => Arn("RoleArn"), write, authorization = Unsigned;
    AssumeRoot => Any, write, authorization = Always;
    GetDelegatedAccessToken => Any, write;
    AssumeRoleWithWebIdentity => Arn("RoleArn"), write, authorization = Unsigned;
    GetFederationToken => FederatedUser, read;
    GetWebIdentityToken => Any, read, keys = WebIdentityToken;
    DecodeAuthorizationMessage => Any, read;
    GetAccessKeyInfo => Any, read;
    GetCallerIdentity => Caller, read, authorization = Always;
    GetSessionToken => Caller, write, authorization = Always;
}

operations! {
    /// The AWS Organizations operations Portcullis serves (JSON 1.1). Who may call which
    /// (the management account, any member) the operations decide themselves.
    OrganizationsOperation, "organizations";
    CreateOrganization => Any, write;
    DescribeOrganization => Any, read;
    DeleteOrganization => Any, write;
    ListRoots => Any, read;
    CreateAccount => Any, write;
    DescribeCreateAccountStatus => Any, read;
    ListCreateAccountStatus => Any, read;
    DescribeAccount => OrgObject("AccountId"), read;
    ListAccounts => Any, read;
    ListAccountsForParent => OrgObject("ParentId"), read;
    MoveAccount => OrgObject("AccountId"), write;
    RemoveAccountFromOrganization => OrgObject("AccountId"), write;
    CloseAccount => OrgObject("AccountId"), write;
    CreateOrganizationalUnit => OrgObject("ParentId"), write;
    DescribeOrganizationalUnit => OrgObject("OrganizationalUnitId"), read;
    UpdateOrganizationalUnit => OrgObject("OrganizationalUnitId"), write;
    DeleteOrganizationalUnit => OrgObject("OrganizationalUnitId"), write;
    ListOrganizationalUnitsForParent => OrgObject("ParentId"), read;
    ListChildren => OrgObject("ParentId"), read;
    ListParents => OrgObject("ChildId"), read;
    CreatePolicy => Any, write;
    DescribePolicy => OrgObject("PolicyId"), read;
    UpdatePolicy => OrgObject("PolicyId"), write;
    DeletePolicy => OrgObject("PolicyId"), write;
    ListPolicies => Any, read;
    AttachPolicy => OrgObject("PolicyId"), write;
    DetachPolicy => OrgObject("PolicyId"), write;
    ListPoliciesForTarget => OrgObject("TargetId"), read;
    ListTargetsForPolicy => OrgObject("PolicyId"), read;
    EnablePolicyType => OrgObject("RootId"), write;
    DisablePolicyType => OrgObject("RootId"), write;
    EnableAWSServiceAccess => Any, write;
    DisableAWSServiceAccess => Any, write;
    ListAWSServiceAccessForOrganization => Any, read;
    TagResource => OrgObject("ResourceId"), write;
    UntagResource => OrgObject("ResourceId"), write;
    ListTagsForResource => OrgObject("ResourceId"), read;
    InviteAccountToOrganization => Any, write;
    AcceptHandshake => OrgObject("HandshakeId"), write;
    DeclineHandshake => OrgObject("HandshakeId"), write;
    CancelHandshake => OrgObject("HandshakeId"), write;
    DescribeHandshake => OrgObject("HandshakeId"), read;
    ListHandshakesForAccount => Any, read;
    ListHandshakesForOrganization => Any, read;
    LeaveOrganization => Any, write;
    RegisterDelegatedAdministrator => OrgObject("AccountId"), write;
    DeregisterDelegatedAdministrator => OrgObject("AccountId"), write;
    ListDelegatedAdministrators => Any, read;
    ListDelegatedServicesForAccount => OrgObject("AccountId"), read;
}

operations! {
    /// The Identity Store operations Portcullis serves (JSON 1.1).
    IdentityStoreOperation, "identitystore";
    CreateUser => IdentityStore, write;
    DescribeUser => IdentityStore, read;
    ListUsers => IdentityStore, read;
    UpdateUser => IdentityStore, write;
    DeleteUser => IdentityStore, write;
    GetUserId => IdentityStore, read;
    CreateGroup => IdentityStore, write;
    DescribeGroup => IdentityStore, read;
    ListGroups => IdentityStore, read;
    UpdateGroup => IdentityStore, write;
    DeleteGroup => IdentityStore, write;
    GetGroupId => IdentityStore, read;
    CreateGroupMembership => IdentityStore, write;
    DescribeGroupMembership => IdentityStore, read;
    DeleteGroupMembership => IdentityStore, write;
    ListGroupMemberships => IdentityStore, read;
    ListGroupMembershipsForMember => IdentityStore, read;
    GetGroupMembershipId => IdentityStore, read;
    IsMemberInGroups => IdentityStore, read;
}

operations! {
    /// The IAM Identity Center administration operations Portcullis serves (`sso-admin`,
    /// JSON 1.1; actions are `sso:…`).
    SsoAdminOperation, "sso";
    CreateInstance => Any, write;
    DescribeInstance => Arn("InstanceArn"), read;
    ListInstances => Any, read;
    DeleteInstance => Arn("InstanceArn"), write;
    CreatePermissionSet => Arn("InstanceArn"), write;
    DescribePermissionSet => Arn("PermissionSetArn"), read;
    UpdatePermissionSet => Arn("PermissionSetArn"), write;
    DeletePermissionSet => Arn("PermissionSetArn"), write;
    ListPermissionSets => Arn("InstanceArn"), read;
    AttachManagedPolicyToPermissionSet => Arn("PermissionSetArn"), write;
    DetachManagedPolicyFromPermissionSet => Arn("PermissionSetArn"), write;
    ListManagedPoliciesInPermissionSet => Arn("PermissionSetArn"), read;
    AttachCustomerManagedPolicyReferenceToPermissionSet => Arn("PermissionSetArn"), write;
    DetachCustomerManagedPolicyReferenceFromPermissionSet => Arn("PermissionSetArn"), write;
    ListCustomerManagedPolicyReferencesInPermissionSet => Arn("PermissionSetArn"), read;
    PutInlinePolicyToPermissionSet => Arn("PermissionSetArn"), write;
    GetInlinePolicyForPermissionSet => Arn("PermissionSetArn"), read;
    DeleteInlinePolicyFromPermissionSet => Arn("PermissionSetArn"), write;
    PutPermissionsBoundaryToPermissionSet => Arn("PermissionSetArn"), write;
    GetPermissionsBoundaryForPermissionSet => Arn("PermissionSetArn"), read;
    DeletePermissionsBoundaryFromPermissionSet => Arn("PermissionSetArn"), write;
    CreateAccountAssignment => Arn("PermissionSetArn"), write;
    DeleteAccountAssignment => Arn("PermissionSetArn"), write;
    DescribeAccountAssignmentCreationStatus => Arn("InstanceArn"), read;
    DescribeAccountAssignmentDeletionStatus => Arn("InstanceArn"), read;
    ListAccountAssignmentCreationStatus => Arn("InstanceArn"), read;
    ListAccountAssignmentDeletionStatus => Arn("InstanceArn"), read;
    ListAccountAssignments => Arn("PermissionSetArn"), read;
    ListAccountAssignmentsForPrincipal => Arn("InstanceArn"), read;
    ProvisionPermissionSet => Arn("PermissionSetArn"), write;
    DescribePermissionSetProvisioningStatus => Arn("InstanceArn"), read;
    ListPermissionSetProvisioningStatus => Arn("InstanceArn"), read;
    ListPermissionSetsProvisionedToAccount => Arn("InstanceArn"), read;
    ListAccountsForProvisionedPermissionSet => Arn("PermissionSetArn"), read;
    TagResource => Arn("ResourceArn"), write;
    UntagResource => Arn("ResourceArn"), write;
    ListTagsForResource => Arn("ResourceArn"), read;
}

operations! {
    /// The CloudTrail operations Portcullis serves (JSON 1.1): the event history.
    CloudTrailOperation, "cloudtrail";
    LookupEvents => Any, read;
}

operations! {
    /// The Account Management operations Portcullis serves (REST-JSON).
    AccountOperation, "account";
    PutAlternateContact => AccountResource, write;
    GetAlternateContact => AccountResource, read;
    DeleteAlternateContact => AccountResource, write;
    PutContactInformation => AccountResource, write;
    GetContactInformation => AccountResource, read;
    ListRegions => AccountResource, read;
    GetRegionOptStatus => AccountResource, read;
    EnableRegion => AccountResource, write;
    DisableRegion => AccountResource, write;
    GetPrimaryEmail => AccountResource, read;
    GetAccountInformation => AccountResource, read;
    PutAccountName => AccountResource, write;
}

operations! {
    /// The OpenID Connect operations of IAM Identity Center (`sso-oidc`, REST-JSON). Not
    /// signed: a registered client's secret and a user's approval prove them.
    SsoOidcOperation, "sso-oauth";
    RegisterClient => Any, write, authorization = Unsigned;
    StartDeviceAuthorization => Any, write, authorization = Unsigned;
    CreateToken => Any, write, authorization = Unsigned;
}

operations! {
    /// The access portal's operations (`sso`, REST-JSON), with a portal session's bearer token.
    SsoPortalOperation, "awsssoportal";
    ListAccounts => Any, read, authorization = Unsigned;
    ListAccountRoles => Any, read, authorization = Unsigned;
    GetRoleCredentials => Any, write, authorization = Unsigned;
    Logout => Any, write, authorization = Unsigned;
}

fn iam_arn(account: &str, rest: &str) -> String {
    crate::iam_resource_arn(account, rest)
}

impl Iam {
    /// What the authorizer decides an operation on: its action, its resource and the
    /// request's context keys (request tags and tag keys, `iam:PolicyARN` when attaching or
    /// detaching, `iam:PermissionsBoundary`, and the resource's own tags).
    pub async fn authz_request(&self, caller: &Caller, spec: &Spec, p: &QueryParams) -> IamResult<AuthzRequest> {
        let account = caller.account_id.as_str();
        let mut resource_tags = Vec::new();
        let param = |k: &str| p.get(k).unwrap_or_default().to_owned();
        let resource = match spec.target {
            Target::Any => "*".to_owned(),
            Target::Caller => caller.arn(),
            Target::Listing(kind) => iam_arn(account, kind),
            Target::New(kind, name) => iam_arn(account, &format!("{kind}{}{}", p.get("Path").unwrap_or("/"), param(name))),
            Target::Group => self.resource_arn(account, ResourceKind::Group, &param("GroupName")).await?.0,
            Target::Role | Target::User => {
                let (kind, name) = if spec.target == Target::Role { (ResourceKind::Role, "RoleName") } else { (ResourceKind::User, "UserName") };
                let (arn, tags) = self.resource_arn(account, kind, &param(name)).await?;
                resource_tags = tags;
                arn
            }
            Target::UserOrCaller if p.contains("UserName") => {
                let (arn, tags) = self.resource_arn(account, ResourceKind::User, &param("UserName")).await?;
                resource_tags = tags;
                arn
            }
            Target::UserOrCaller => caller.arn(),
            Target::Arn(k) => p.get(k).unwrap_or("*").to_owned(),
            Target::InstanceProfile => {
                let (arn, tags) = self.resource_arn(account, ResourceKind::InstanceProfile, &param("InstanceProfileName")).await?;
                resource_tags = tags;
                arn
            }
            Target::OidcProviderFromUrl => {
                let url = p.get("Url").unwrap_or_default();
                iam_arn(account, &format!("oidc-provider/{}", url.strip_prefix("https://").unwrap_or(url)))
            }
            Target::FederatedUser => format!("arn:aws:sts::{account}:federated-user/{}", param("Name")),
            Target::ServerCertificate => {
                let (arn, tags) = self.resource_arn(account, ResourceKind::ServerCertificate, &param("ServerCertificateName")).await?;
                resource_tags = tags;
                arn
            }
            Target::ServiceLinkedRole => iam_arn(account, &format!("role/aws-service-role/{}/", param("AWSServiceName"))),
            Target::AccessKeyOwner => match self.access_key_owner(account, p.get("AccessKeyId").unwrap_or_default()).await? {
                Some(user) => self.resource_arn(account, ResourceKind::User, &user).await?.0,
                None => caller.arn(),
            },
            Target::OrgObject(k) => self.org_object_arn(account, &param(k)).await?.unwrap_or_else(|| "*".to_owned()),
            Target::IdentityStore => format!("arn:aws:identitystore::{account}:identitystore/{}", param("IdentityStoreId")),
            Target::AccountResource => match p.get("AccountId") {
                Some(member) => match self.org_object_arn(account, member).await? {
                    Some(org_arn) => {
                        let org = org_arn.split('/').nth(1).unwrap_or_default().to_owned();
                        format!("arn:aws:account::{account}:account/{org}/{member}")
                    }
                    None => format!("arn:aws:account::{account}:account/{member}"),
                },
                None => format!("arn:aws:account::{account}:account"),
            },
        };
        let mut req = AuthzRequest::new(spec.action(), resource);
        // The services' own condition keys, from their parameters.
        let service_keys: &[(&str, &str)] = match spec.service {
            "organizations" => &[("Type", "organizations:PolicyType"), ("Filter", "organizations:PolicyType"), ("PolicyType", "organizations:PolicyType"), ("ServicePrincipal", "organizations:ServicePrincipal")],
            "account" => &[("AlternateContactType", "account:AlternateContactTypes"), ("RegionName", "account:TargetRegion")],
            _ => &[],
        };
        for (param_name, key) in service_keys {
            if let Some(v) = p.get(param_name) {
                req = req.with(key, vec![v.to_owned()]);
            }
        }
        let request_tags: Vec<(String, String)> = p
            .member_prefixes("Tags")
            .iter()
            .map(|m| (p.get(&format!("{m}.Key")).unwrap_or_default().to_owned(), p.get(&format!("{m}.Value")).unwrap_or_default().to_owned()))
            .collect();
        req = req.with_request_tags(&request_tags);
        let tag_keys = p.string_list("TagKeys");
        if !tag_keys.is_empty() {
            req = req.with("aws:TagKeys", tag_keys);
        }
        if spec.name.starts_with("Attach") || spec.name.starts_with("Detach") {
            if let Some(arn) = p.get("PolicyArn") {
                req = req.with("iam:PolicyARN", vec![arn.to_owned()]);
            }
        }
        if let Some(b) = p.get("PermissionsBoundary") {
            req = req.with("iam:PermissionsBoundary", vec![b.to_owned()]);
        }
        req = spec.keys.add(req, p);
        for (k, v) in resource_tags {
            req = req.with(&format!("iam:ResourceTag/{k}"), vec![v.clone()]);
            req = req.with(&format!("aws:ResourceTag/{k}"), vec![v]);
        }
        Ok(req)
    }

    /// Authorizes an operation with these (model-checked) parameters as its table row says.
    /// `ResourcePolicy` operations are decided inside the operation, which receives the
    /// capability for the caller's side of the decision.
    pub async fn authorize_operation<'a>(&self, caller: &'a Caller, spec: &Spec, p: &QueryParams) -> IamResult<Authorized<'a>> {
        // Federated users' sessions may not call IAM, nor STS but GetCallerIdentity, as on AWS.
        if matches!(caller.principal, crate::Principal::FederatedUser { .. }) && (spec.service == "iam" || spec.name != "GetCallerIdentity") {
            return Err(IamError::AccessDenied(format!(
                "User: {} is not authorized to perform: {} because federated user sessions cannot call {}",
                caller.arn(),
                spec.action(),
                if spec.service == "iam" { "IAM" } else { "this STS operation" }
            )));
        }
        match spec.authorization {
            Authorization::Always | Authorization::ResourcePolicy | Authorization::Unsigned => Ok(Authorized::new(caller)),
            Authorization::Policies => {
                let request = self.authz_request(caller, spec, p).await?;
                let auth = self.authorize(caller, &request).await?;
                if let Some(renamed) = self.renamed_target(caller, spec, p).await? {
                    self.authorize(caller, &AuthzRequest::new(spec.action(), renamed)).await?;
                }
                if spec.passes_role {
                    let role = self.resource_arn(&caller.account_id, ResourceKind::Role, p.get("RoleName").unwrap_or_default()).await?.0;
                    self.authorize(caller, &AuthzRequest::new("iam:PassRole", role)).await?;
                }
                Ok(auth)
            }
            Authorization::ChangePassword => {
                let request = self.authz_request(caller, spec, p).await?;
                self.authorize_change_password(caller, &request).await
            }
        }
    }

    /// The ARN an Update* call would give the entity (its new name and path), which the caller
    /// must be allowed to act on too, as AWS requires; `None` when nothing is renamed.
    async fn renamed_target(&self, caller: &Caller, spec: &Spec, p: &QueryParams) -> IamResult<Option<String>> {
        let Some(r) = spec.renames else { return Ok(None) };
        if !p.contains(r.new_name) && !p.contains(r.new_path) {
            return Ok(None);
        }
        let old = p.get(r.name).unwrap_or_default();
        let old_arn = self.resource_arn(&caller.account_id, r.resource, old).await?.0;
        let old_path = portcullis_types::Arn::parse(&old_arn).map_or_else(|_| "/".to_owned(), |a| a.path().to_owned());
        let path = p.get(r.new_path).map_or(old_path, str::to_owned);
        Ok(Some(crate::iam_arn(&caller.account_id, r.kind, &path, p.get(r.new_name).unwrap_or(old))))
    }

    /// [`Iam::authorize_operation`] for an IAM operation named by the console, with its
    /// parameters as name/value pairs (the API's names).
    pub async fn authorize_iam<'a>(&self, caller: &'a Caller, op: IamOperation, params: &[(&str, &str)]) -> IamResult<Authorized<'a>> {
        self.authorize_console(caller, &op.spec(), QueryParams::from_pairs(params.iter().copied())).await
    }

    /// The console's way to any table operation's capability, with the parameters its
    /// authorization target reads.
    pub async fn authorize_spec<'a>(&self, caller: &'a Caller, spec: &Spec, params: &[(&str, &str)]) -> IamResult<Authorized<'a>> {
        self.authorize_console(caller, spec, QueryParams::from_pairs(params.iter().copied())).await
    }

    /// The console's way to an Account Management operation's capability.
    pub async fn authorize_account<'a>(&self, caller: &'a Caller, op: AccountOperation) -> IamResult<Authorized<'a>> {
        self.authorize_console(caller, &op.spec(), QueryParams::default()).await
    }

    /// The console's operations are authorized like the API's and recorded in the audit
    /// trail like them (inside a console request; see `Iam::record_console_calls`).
    async fn authorize_console<'a>(&self, caller: &'a Caller, spec: &Spec, params: QueryParams) -> IamResult<Authorized<'a>> {
        let result = self.authorize_operation(caller, spec, &params).await;
        self.note_console_call(caller, spec, &params, result.as_ref().err());
        result
    }
}

/// An operation the table does not have, as AWS words it.
pub fn unknown_operation(name: &str, version: &str) -> IamError {
    IamError::InvalidAction(format!("Could not find operation {name} for version {version}"))
}
