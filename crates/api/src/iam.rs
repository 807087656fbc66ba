//! IAM operations: decode parameters (already validated against the model), authorize,
//! call the domain, encode the result.

use portcullis_core::{Authorized, Caller, ContextEntry, DelegationRequestView, NewDelegationRequest, PolicyParameter, Tagged, Iam, IamError, IamOperation as Op, IamResult, NewRole, Page, PageRequest, PasswordPolicyInput, PolicyFilter, SimulationInput};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use portcullis_protocol::{QueryParams, XmlWriter};
use portcullis_core::views::{CredentialKind, PrincipalKind, Tag};

use crate::encode::{self, ts, RoleShape};

fn req<'a>(p: &'a QueryParams, k: &str) -> IamResult<&'a str> {
    // The model check guarantees required members; this guards against model drift.
    p.get(k).ok_or_else(|| IamError::Validation(format!("1 validation error detected: Value at '{k}' failed to satisfy constraint: Member must not be null")))
}

fn opt<'a>(p: &'a QueryParams, k: &str) -> Option<&'a str> {
    p.get(k)
}

fn flag(p: &QueryParams, k: &str) -> Option<bool> {
    p.get(k).map(|v| v.eq_ignore_ascii_case("true"))
}

fn int(p: &QueryParams, k: &str) -> Option<i64> {
    p.get(k).and_then(|v| v.trim().parse().ok())
}

fn tags(p: &QueryParams) -> Vec<Tag> {
    p.member_prefixes("Tags")
        .iter()
        .map(|m| Tag {
            key: p.get(&format!("{m}.Key")).unwrap_or_default().to_owned(),
            value: p.get(&format!("{m}.Value")).unwrap_or_default().to_owned(),
        })
        .collect()
}

fn simulation_input(p: &QueryParams) -> SimulationInput {
    SimulationInput {
        policy_inputs: p.string_list("PolicyInputList"),
        boundary_inputs: p.string_list("PermissionsBoundaryPolicyInputList"),
        actions: p.string_list("ActionNames"),
        resources: p.string_list("ResourceArns"),
        resource_policy: opt(p, "ResourcePolicy").map(str::to_owned),
        caller_arn: opt(p, "CallerArn").map(str::to_owned),
        context: p
            .member_prefixes("ContextEntries")
            .iter()
            .map(|m| ContextEntry {
                key: p.get(&format!("{m}.ContextKeyName")).unwrap_or_default().to_owned(),
                values: p.string_list(&format!("{m}.ContextKeyValues")),
            })
            .collect(),
    }
}

fn page(p: &QueryParams) -> PageRequest {
    PageRequest { marker: p.get("Marker").map(str::to_owned), max_items: int(p, "MaxItems") }
}

fn kind_of(op: &str) -> PrincipalKind {
    if op.contains("Group") {
        PrincipalKind::Group
    } else if op.contains("Role") {
        PrincipalKind::Role
    } else {
        PrincipalKind::User
    }
}

/// The request parameter naming the principal of a user/group/role operation.
fn principal_param(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::User => "UserName",
        PrincipalKind::Group => "GroupName",
        PrincipalKind::Role => "RoleName",
    }
}

type Out = IamResult<Option<XmlWriter>>;

/// Authorizes the operation as its table row says, runs it, and drops cached authorization
/// data after a change.
pub async fn dispatch(iam: &Iam, caller: &Caller, op: Op, p: &QueryParams) -> Out {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, p).await?;
    let out = run(iam, &auth, op, p).await;
    if out.is_ok() && spec.writes {
        iam.invalidate_authorization_cache();
    }
    out
}

async fn run(iam: &Iam, auth: &Authorized<'_>, op: Op, p: &QueryParams) -> Out {
    let mut w = XmlWriter::new();
    match op {
        // Users
        Op::CreateUser => {
            let u = iam.create_user(auth, req(p, "UserName")?, opt(p, "Path"), opt(p, "PermissionsBoundary"), &tags(p)).await?;
            encode::user(&mut w, "User", &u, true);
        }
        Op::GetUser => {
            let u = iam.get_user(auth, opt(p, "UserName")).await?;
            encode::user(&mut w, "User", &u, true);
        }
        Op::ListUsers => {
            let page = iam.list_users(auth, opt(p, "PathPrefix"), &page(p)).await?;
            w.list("Users", &page.items, |w, u| encode::user_members(w, u, false));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateUser => {
            iam.update_user(auth, req(p, "UserName")?, opt(p, "NewUserName"), opt(p, "NewPath")).await?;
        }
        Op::DeleteUser => iam.delete_user(auth, req(p, "UserName")?).await?,
        Op::PutUserPermissionsBoundary => iam.set_user_boundary(auth, req(p, "UserName")?, Some(req(p, "PermissionsBoundary")?)).await?,
        Op::DeleteUserPermissionsBoundary => iam.set_user_boundary(auth, req(p, "UserName")?, None).await?,
        Op::PutRolePermissionsBoundary => iam.set_role_boundary(auth, req(p, "RoleName")?, Some(req(p, "PermissionsBoundary")?)).await?,
        Op::DeleteRolePermissionsBoundary => iam.set_role_boundary(auth, req(p, "RoleName")?, None).await?,

        // Tags, one way for every taggable resource
        Op::TagUser => iam.tag_resource(auth, Tagged::User(req(p, "UserName")?), &tags(p)).await?,
        Op::UntagUser => iam.untag_resource(auth, Tagged::User(req(p, "UserName")?), &p.string_list("TagKeys")).await?,
        Op::ListUserTags => {
            let page = iam.list_resource_tags(auth, Tagged::User(req(p, "UserName")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagRole => iam.tag_resource(auth, Tagged::Role(req(p, "RoleName")?), &tags(p)).await?,
        Op::UntagRole => iam.untag_resource(auth, Tagged::Role(req(p, "RoleName")?), &p.string_list("TagKeys")).await?,
        Op::ListRoleTags => {
            let page = iam.list_resource_tags(auth, Tagged::Role(req(p, "RoleName")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagPolicy => iam.tag_resource(auth, Tagged::Policy(req(p, "PolicyArn")?), &tags(p)).await?,
        Op::UntagPolicy => iam.untag_resource(auth, Tagged::Policy(req(p, "PolicyArn")?), &p.string_list("TagKeys")).await?,
        Op::ListPolicyTags => {
            let page = iam.list_resource_tags(auth, Tagged::Policy(req(p, "PolicyArn")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagMFADevice => iam.tag_resource(auth, Tagged::MfaDevice(req(p, "SerialNumber")?), &tags(p)).await?,
        Op::UntagMFADevice => iam.untag_resource(auth, Tagged::MfaDevice(req(p, "SerialNumber")?), &p.string_list("TagKeys")).await?,
        Op::ListMFADeviceTags => {
            let page = iam.list_resource_tags(auth, Tagged::MfaDevice(req(p, "SerialNumber")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagInstanceProfile => iam.tag_resource(auth, Tagged::InstanceProfile(req(p, "InstanceProfileName")?), &tags(p)).await?,
        Op::UntagInstanceProfile => iam.untag_resource(auth, Tagged::InstanceProfile(req(p, "InstanceProfileName")?), &p.string_list("TagKeys")).await?,
        Op::ListInstanceProfileTags => {
            let page = iam.list_resource_tags(auth, Tagged::InstanceProfile(req(p, "InstanceProfileName")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagOpenIDConnectProvider => iam.tag_resource(auth, Tagged::OidcProvider(req(p, "OpenIDConnectProviderArn")?), &tags(p)).await?,
        Op::UntagOpenIDConnectProvider => iam.untag_resource(auth, Tagged::OidcProvider(req(p, "OpenIDConnectProviderArn")?), &p.string_list("TagKeys")).await?,
        Op::ListOpenIDConnectProviderTags => {
            let page = iam.list_resource_tags(auth, Tagged::OidcProvider(req(p, "OpenIDConnectProviderArn")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagSAMLProvider => iam.tag_resource(auth, Tagged::SamlProvider(req(p, "SAMLProviderArn")?), &tags(p)).await?,
        Op::UntagSAMLProvider => iam.untag_resource(auth, Tagged::SamlProvider(req(p, "SAMLProviderArn")?), &p.string_list("TagKeys")).await?,
        Op::ListSAMLProviderTags => {
            let page = iam.list_resource_tags(auth, Tagged::SamlProvider(req(p, "SAMLProviderArn")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::TagServerCertificate => iam.tag_resource(auth, Tagged::ServerCertificate(req(p, "ServerCertificateName")?), &tags(p)).await?,
        Op::UntagServerCertificate => iam.untag_resource(auth, Tagged::ServerCertificate(req(p, "ServerCertificateName")?), &p.string_list("TagKeys")).await?,
        Op::ListServerCertificateTags => {
            let page = iam.list_resource_tags(auth, Tagged::ServerCertificate(req(p, "ServerCertificateName")?), &page(p)).await?;
            encode::tags(&mut w, "Tags", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }

        // Groups
        Op::CreateGroup => {
            let g = iam.create_group(auth, req(p, "GroupName")?, opt(p, "Path")).await?;
            w.start("Group");
            encode::group_members(&mut w, &g);
            w.end("Group");
        }
        Op::GetGroup => {
            let (g, users) = iam.get_group(auth, req(p, "GroupName")?, &page(p)).await?;
            w.start("Group");
            encode::group_members(&mut w, &g);
            w.end("Group");
            w.list("Users", &users.items, |w, u| encode::user_members(w, u, false));
            encode::truncation(&mut w, users.marker.as_deref());
        }
        Op::ListGroups => {
            let page = iam.list_groups(auth, opt(p, "PathPrefix"), &page(p)).await?;
            w.list("Groups", &page.items, encode::group_members);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateGroup => iam.update_group(auth, req(p, "GroupName")?, opt(p, "NewGroupName"), opt(p, "NewPath")).await?,
        Op::DeleteGroup => iam.delete_group(auth, req(p, "GroupName")?).await?,
        Op::AddUserToGroup => iam.add_user_to_group(auth, req(p, "GroupName")?, req(p, "UserName")?).await?,
        Op::RemoveUserFromGroup => iam.remove_user_from_group(auth, req(p, "GroupName")?, req(p, "UserName")?).await?,
        Op::ListGroupsForUser => {
            let page = iam.list_groups_for_user(auth, req(p, "UserName")?, &page(p)).await?;
            w.list("Groups", &page.items, encode::group_members);
            encode::truncation(&mut w, page.marker.as_deref());
        }

        // Roles
        Op::CreateRole => {
            let tags = tags(p);
            let r = iam
                .create_role(
                    auth,
                    NewRole {
                        name: req(p, "RoleName")?,
                        path: opt(p, "Path"),
                        trust_policy: req(p, "AssumeRolePolicyDocument")?,
                        description: opt(p, "Description"),
                        max_session_duration: int(p, "MaxSessionDuration"),
                        permissions_boundary: opt(p, "PermissionsBoundary"),
                        tags: &tags,
                    },
                )
                .await?;
            w.start("Role");
            encode::role_members(&mut w, &r, RoleShape::Created);
            w.end("Role");
        }
        Op::GetRole => {
            let r = iam.get_role(auth, req(p, "RoleName")?).await?;
            w.start("Role");
            encode::role_members(&mut w, &r, RoleShape::Full);
            w.end("Role");
        }
        Op::ListRoles => {
            let page = iam.list_roles(auth, opt(p, "PathPrefix"), &page(p)).await?;
            w.list("Roles", &page.items, |w, r| encode::role_members(w, r, RoleShape::Listed));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateRole => {
            iam.update_role(auth, req(p, "RoleName")?, opt(p, "Description"), int(p, "MaxSessionDuration")).await?;
        }
        Op::UpdateRoleDescription => {
            let r = iam.update_role(auth, req(p, "RoleName")?, Some(req(p, "Description")?), None).await?;
            w.start("Role");
            encode::role_members(&mut w, &r, RoleShape::DescriptionUpdated);
            w.end("Role");
        }
        Op::UpdateAssumeRolePolicy => {
            iam.update_assume_role_policy(auth, req(p, "RoleName")?, req(p, "PolicyDocument")?).await?;
        }
        Op::DeleteRole => iam.delete_role(auth, req(p, "RoleName")?).await?,
        Op::ListInstanceProfilesForRole => {
            let page = iam.list_instance_profiles_for_role(auth, req(p, "RoleName")?, &page(p)).await?;
            w.list("InstanceProfiles", &page.items, |w, ip| encode::instance_profile_members(w, ip, false));
            encode::truncation(&mut w, page.marker.as_deref());
        }

        // Server certificates
        Op::UploadServerCertificate => {
            let c = iam
                .upload_server_certificate(
                    auth,
                    req(p, "ServerCertificateName")?,
                    opt(p, "Path"),
                    req(p, "CertificateBody")?,
                    req(p, "PrivateKey")?,
                    opt(p, "CertificateChain"),
                    &tags(p),
                )
                .await?;
            w.start("ServerCertificateMetadata");
            encode::server_certificate_metadata(&mut w, &c);
            w.end("ServerCertificateMetadata");
            if !c.tags.is_empty() {
                encode::tags(&mut w, "Tags", &c.tags);
            }
        }
        Op::GetServerCertificate => {
            let c = iam.get_server_certificate(auth, req(p, "ServerCertificateName")?).await?;
            w.start("ServerCertificate").start("ServerCertificateMetadata");
            encode::server_certificate_metadata(&mut w, &c);
            w.end("ServerCertificateMetadata").leaf("CertificateBody", &c.record.body);
            w.opt("CertificateChain", c.record.chain.as_deref());
            encode::tags(&mut w, "Tags", &c.tags);
            w.end("ServerCertificate");
        }
        Op::ListServerCertificates => {
            let page = iam.list_server_certificates(auth, opt(p, "PathPrefix"), &page(p)).await?;
            w.list("ServerCertificateMetadataList", &page.items, |w, c| encode::server_certificate_metadata(w, c));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateServerCertificate => {
            iam.update_server_certificate(auth, req(p, "ServerCertificateName")?, opt(p, "NewServerCertificateName"), opt(p, "NewPath")).await?;
        }
        Op::DeleteServerCertificate => iam.delete_server_certificate(auth, req(p, "ServerCertificateName")?).await?,
        Op::SetSecurityTokenServicePreferences => iam.set_sts_preferences(auth, req(p, "GlobalEndpointTokenVersion")?).await?,

        Op::ListPoliciesGrantingServiceAccess => {
            let all = iam.policies_granting_service_access(auth, req(p, "Arn")?, &p.string_list("ServiceNamespaces")).await?;
            w.list("PoliciesGrantingServiceAccess", &all, |w, s| {
                w.leaf("ServiceNamespace", &s.namespace);
                w.list("Policies", &s.policies, |w, g| {
                    w.leaf("PolicyName", &g.name).leaf("PolicyType", g.policy_type);
                    w.opt("PolicyArn", g.arn.as_deref());
                    if let Some((t, n)) = &g.entity {
                        w.leaf("EntityType", t).leaf("EntityName", n);
                    }
                });
            });
            w.bool("IsTruncated", false);
        }

        // Access advisor
        Op::GenerateServiceLastAccessedDetails => {
            let job = iam.generate_service_last_accessed(auth, req(p, "Arn")?, opt(p, "Granularity")).await?;
            w.leaf("JobId", &job);
        }
        Op::GetServiceLastAccessedDetails => {
            let report = iam.service_last_accessed(auth, req(p, "JobId")?).await?;
            job_header(&mut w, &report.job);
            let page = Page::from_all(report.services, &page(p))?;
            w.list("ServicesLastAccessed", &page.items, |w, s| {
                w.leaf("ServiceName", &s.name);
                if let Some((at, entity, region)) = &s.last {
                    w.time("LastAuthenticated", ts(*at)).leaf("LastAuthenticatedEntity", entity).leaf("LastAuthenticatedRegion", region);
                }
                w.leaf("ServiceNamespace", &s.namespace).num("TotalAuthenticatedEntities", s.total_entities);
                if let Some(actions) = &s.tracked_actions {
                    w.list("TrackedActionsLastAccessed", actions, |w, a| {
                        w.leaf("ActionName", &a.action_name).leaf("LastAccessedEntity", &a.entity);
                        w.time("LastAccessedTime", ts(a.at)).leaf("LastAccessedRegion", &a.region);
                    });
                }
            });
            w.time("JobCompletionDate", ts(report.job.created_at));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::GetServiceLastAccessedDetailsWithEntities => {
            let report = iam.service_last_accessed_entities(auth, req(p, "JobId")?, req(p, "ServiceNamespace")?).await?;
            w.leaf("JobStatus", "COMPLETED").time("JobCreationDate", ts(report.job.created_at)).time("JobCompletionDate", ts(report.job.created_at));
            let page = Page::from_all(report.entities, &page(p))?;
            w.list("EntityDetailsList", &page.items, |w, (e, last)| {
                w.start("EntityInfo").leaf("Arn", &e.arn).leaf("Name", &e.name).leaf("Type", e.entity_type).leaf("Id", &e.id).leaf("Path", &e.path).end("EntityInfo");
                w.opt_time("LastAuthenticated", last.map(ts));
            });
            encode::truncation(&mut w, page.marker.as_deref());
        }

        // Delegation requests
        Op::CreateDelegationRequest => {
            let parameters = p
                .member_prefixes("Permissions.Parameters")
                .iter()
                .map(|m| PolicyParameter {
                    name: p.get(&format!("{m}.Name")).unwrap_or_default().to_owned(),
                    values: p.string_list(&format!("{m}.Values")),
                    kind: p.get(&format!("{m}.Type")).map(str::to_owned),
                })
                .collect();
            let input = NewDelegationRequest {
                owner_account_id: opt(p, "OwnerAccountId").map(str::to_owned),
                description: req(p, "Description")?.to_owned(),
                policy_template_arn: p.get("Permissions.PolicyTemplateArn").unwrap_or_default().to_owned(),
                parameters,
                request_message: opt(p, "RequestMessage").map(str::to_owned),
                workflow_id: req(p, "RequestorWorkflowId")?.to_owned(),
                redirect_url: opt(p, "RedirectUrl").map(str::to_owned),
                notification_channel: req(p, "NotificationChannel")?.to_owned(),
                session_duration: int(p, "SessionDuration").unwrap_or(0),
                only_send_by_owner: flag(p, "OnlySendByOwner").unwrap_or(false),
            };
            let (id, link) = iam.create_delegation_request(auth, &input).await?;
            w.leaf("ConsoleDeepLink", &link).leaf("DelegationRequestId", &id);
        }
        Op::GetDelegationRequest => {
            let (r, check) = iam.get_delegation_request(auth, req(p, "DelegationRequestId")?, flag(p, "DelegationPermissionCheck").unwrap_or(false)).await?;
            w.start("DelegationRequest");
            delegation_request(&mut w, &r);
            w.end("DelegationRequest");
            if let Some(c) = check {
                w.leaf("PermissionCheckStatus", "COMPLETE").leaf("PermissionCheckResult", c.as_str());
            }
        }
        Op::ListDelegationRequests => {
            let all = iam.list_delegation_requests(auth, opt(p, "OwnerId")).await?;
            let page = Page::from_all(all, &page(p))?;
            w.list("DelegationRequests", &page.items, delegation_request);
            w.opt("Marker", page.marker.as_deref());
            w.bool("isTruncated", page.is_truncated());
        }
        Op::AssociateDelegationRequest => iam.associate_delegation_request(auth, req(p, "DelegationRequestId")?).await?,
        Op::UpdateDelegationRequest => iam.update_delegation_request(auth, req(p, "DelegationRequestId")?, opt(p, "Notes")).await?,
        Op::AcceptDelegationRequest => iam.accept_delegation_request(auth, req(p, "DelegationRequestId")?).await?,
        Op::RejectDelegationRequest => iam.reject_delegation_request(auth, req(p, "DelegationRequestId")?, opt(p, "Notes")).await?,
        Op::SendDelegationToken => iam.send_delegation_token(auth, req(p, "DelegationRequestId")?).await?,
        Op::GetHumanReadableSummary => {
            let (content, locale, state) = iam.human_readable_summary(auth, req(p, "EntityArn")?, opt(p, "Locale")).await?;
            w.leaf("SummaryContent", &content).leaf("Locale", &locale).leaf("SummaryState", state);
        }

        // Organizations-facing operations.
        Op::GenerateOrganizationsAccessReport => return Err(portcullis_core::no_organization()),
        Op::ListOrganizationsFeatures
        | Op::EnableOrganizationsRootCredentialsManagement
        | Op::DisableOrganizationsRootCredentialsManagement
        | Op::EnableOrganizationsRootSessions
        | Op::DisableOrganizationsRootSessions => {
            let change = match op {
                Op::EnableOrganizationsRootCredentialsManagement => Some((portcullis_core::ROOT_CREDENTIALS_MANAGEMENT, true)),
                Op::DisableOrganizationsRootCredentialsManagement => Some((portcullis_core::ROOT_CREDENTIALS_MANAGEMENT, false)),
                Op::EnableOrganizationsRootSessions => Some((portcullis_core::ROOT_SESSIONS, true)),
                Op::DisableOrganizationsRootSessions => Some((portcullis_core::ROOT_SESSIONS, false)),
                _ => None,
            };
            let (org_id, features) = iam.iam_organization_features(auth, change).await?;
            w.leaf("OrganizationId", &org_id);
            w.list("EnabledFeatures", &features, |w, f| {
                w.text(f);
            });
        }
        Op::GetOrganizationsAccessReport => {
            return Err(IamError::NoSuchEntity(format!("Job {} does not exist.", req(p, "JobId")?)));
        }

        // SAML providers
        Op::CreateSAMLProvider => {
            let rec = iam
                .create_saml_provider(auth, req(p, "Name")?, req(p, "SAMLMetadataDocument")?, &tags(p), opt(p, "AssertionEncryptionMode"), opt(p, "AddPrivateKey"))
                .await?;
            w.leaf("SAMLProviderArn", &rec.arn);
            let given = tags(p);
            if !given.is_empty() {
                encode::tags(&mut w, "Tags", &given);
            }
        }
        Op::GetSAMLProvider => {
            let v = iam.get_saml_provider(auth, req(p, "SAMLProviderArn")?).await?;
            let r = &v.provider;
            w.leaf("SAMLProviderUUID", &r.uuid)
                .leaf("SAMLMetadataDocument", &r.metadata)
                .time("CreateDate", ts(r.created_at))
                .time("ValidUntil", ts(r.valid_until));
            encode::tags(&mut w, "Tags", &v.tags);
            w.leaf("AssertionEncryptionMode", r.assertion_encryption_mode.as_deref().unwrap_or("Allowed"));
            w.list("PrivateKeyList", &r.private_keys, |w, (id, at)| {
                w.leaf("KeyId", id).time("Timestamp", ts(*at));
            });
        }
        Op::ListSAMLProviders => {
            let all = iam.list_saml_providers(auth).await?;
            w.list("SAMLProviderList", &all, |w, r| {
                w.leaf("Arn", &r.arn).time("ValidUntil", ts(r.valid_until)).time("CreateDate", ts(r.created_at));
            });
        }
        Op::UpdateSAMLProvider => {
            let arn = req(p, "SAMLProviderArn")?;
            iam.update_saml_provider(auth, arn, opt(p, "SAMLMetadataDocument"), opt(p, "AssertionEncryptionMode"), opt(p, "AddPrivateKey"), opt(p, "RemovePrivateKey"))
                .await?;
            w.leaf("SAMLProviderArn", arn);
        }
        Op::DeleteSAMLProvider => iam.delete_saml_provider(auth, req(p, "SAMLProviderArn")?).await?,

        // Outbound web identity federation
        Op::EnableOutboundWebIdentityFederation => {
            let issuer = iam.enable_outbound_federation(auth).await?;
            w.leaf("IssuerIdentifier", &issuer);
        }
        Op::DisableOutboundWebIdentityFederation => iam.disable_outbound_federation(auth).await?,
        Op::GetOutboundWebIdentityFederationInfo => {
            let info = iam.outbound_federation_info(auth).await?;
            w.leaf("IssuerIdentifier", &info.issuer).bool("JwtVendingEnabled", info.enabled);
        }

        // Service-linked roles
        Op::CreateServiceLinkedRole => {
            let r = iam.create_service_linked_role(auth, req(p, "AWSServiceName")?, opt(p, "Description"), opt(p, "CustomSuffix")).await?;
            w.start("Role");
            encode::role_members(&mut w, &r, RoleShape::Listed);
            w.end("Role");
        }
        Op::DeleteServiceLinkedRole => {
            let task = iam.delete_service_linked_role(auth, req(p, "RoleName")?).await?;
            w.leaf("DeletionTaskId", &task);
        }
        Op::GetServiceLinkedRoleDeletionStatus => {
            let status = iam.service_linked_role_deletion_status(auth, req(p, "DeletionTaskId")?).await?;
            w.leaf("Status", status);
        }

        // OpenID Connect providers
        Op::CreateOpenIDConnectProvider => {
            let rec = iam
                .create_oidc_provider(auth, req(p, "Url")?, &p.string_list("ClientIDList"), &p.string_list("ThumbprintList"), &tags(p))
                .await?;
            w.leaf("OpenIDConnectProviderArn", &rec.arn);
            let tags = tags(p);
            if !tags.is_empty() {
                encode::tags(&mut w, "Tags", &tags);
            }
        }
        Op::GetOpenIDConnectProvider => {
            let v = iam.get_oidc_provider(auth, req(p, "OpenIDConnectProviderArn")?).await?;
            w.leaf("Url", &v.provider.url);
            w.list("ClientIDList", &v.provider.client_ids, |w, c| {
                w.text(c);
            });
            w.list("ThumbprintList", &v.provider.thumbprints, |w, t| {
                w.text(t);
            });
            w.time("CreateDate", ts(v.provider.created_at));
            encode::tags(&mut w, "Tags", &v.tags);
        }
        Op::ListOpenIDConnectProviders => {
            let all = iam.list_oidc_providers(auth).await?;
            w.list("OpenIDConnectProviderList", &all, |w, p| {
                w.leaf("Arn", &p.arn);
            });
        }
        Op::DeleteOpenIDConnectProvider => iam.delete_oidc_provider(auth, req(p, "OpenIDConnectProviderArn")?).await?,
        Op::AddClientIDToOpenIDConnectProvider => iam.add_oidc_client_id(auth, req(p, "OpenIDConnectProviderArn")?, req(p, "ClientID")?).await?,
        Op::RemoveClientIDFromOpenIDConnectProvider => iam.remove_oidc_client_id(auth, req(p, "OpenIDConnectProviderArn")?, req(p, "ClientID")?).await?,
        Op::UpdateOpenIDConnectProviderThumbprint => {
            iam.update_oidc_thumbprints(auth, req(p, "OpenIDConnectProviderArn")?, &p.string_list("ThumbprintList")).await?;
        }

        // Instance profiles
        Op::CreateInstanceProfile => {
            let ip = iam.create_instance_profile(auth, req(p, "InstanceProfileName")?, opt(p, "Path"), &tags(p)).await?;
            w.start("InstanceProfile");
            encode::instance_profile_members(&mut w, &ip, !ip.tags.is_empty());
            w.end("InstanceProfile");
        }
        Op::GetInstanceProfile => {
            let ip = iam.get_instance_profile(auth, req(p, "InstanceProfileName")?).await?;
            w.start("InstanceProfile");
            encode::instance_profile_members(&mut w, &ip, true);
            w.end("InstanceProfile");
        }
        Op::ListInstanceProfiles => {
            let page = iam.list_instance_profiles(auth, opt(p, "PathPrefix"), &page(p)).await?;
            w.list("InstanceProfiles", &page.items, |w, ip| encode::instance_profile_members(w, ip, false));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::AddRoleToInstanceProfile => iam.add_role_to_instance_profile(auth, req(p, "InstanceProfileName")?, req(p, "RoleName")?).await?,
        Op::RemoveRoleFromInstanceProfile => iam.remove_role_from_instance_profile(auth, req(p, "InstanceProfileName")?, req(p, "RoleName")?).await?,
        Op::DeleteInstanceProfile => iam.delete_instance_profile(auth, req(p, "InstanceProfileName")?).await?,

        // Managed policies
        Op::CreatePolicy => {
            let pol = iam
                .create_policy(auth, req(p, "PolicyName")?, opt(p, "Path"), req(p, "PolicyDocument")?, opt(p, "Description"), &tags(p))
                .await?;
            w.start("Policy");
            encode::policy_members(&mut w, &pol, encode::PolicyShape::Created);
            w.end("Policy");
        }
        Op::GetPolicy => {
            let pol = iam.get_policy(auth, req(p, "PolicyArn")?).await?;
            w.start("Policy");
            encode::policy_members(&mut w, &pol, encode::PolicyShape::Full);
            w.end("Policy");
        }
        Op::ListPolicies => {
            let filter = PolicyFilter {
                scope: opt(p, "Scope"),
                only_attached: flag(p, "OnlyAttached").unwrap_or(false),
                path_prefix: opt(p, "PathPrefix"),
                usage: opt(p, "PolicyUsageFilter"),
            };
            let page = iam.list_policies(auth, &filter, &page(p)).await?;
            w.list("Policies", &page.items, |w, pol| encode::policy_members(w, pol, encode::PolicyShape::Listed));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::DeletePolicy => iam.delete_policy(auth, req(p, "PolicyArn")?).await?,
        Op::CreatePolicyVersion => {
            let (v, d) = iam
                .create_policy_version(auth, req(p, "PolicyArn")?, req(p, "PolicyDocument")?, flag(p, "SetAsDefault").unwrap_or(false))
                .await?;
            w.start("PolicyVersion");
            encode::policy_version_members(&mut w, &v, d, false);
            w.end("PolicyVersion");
        }
        Op::GetPolicyVersion => {
            let (v, d) = iam.get_policy_version(auth, req(p, "PolicyArn")?, req(p, "VersionId")?).await?;
            w.start("PolicyVersion");
            encode::policy_version_members(&mut w, &v, d, true);
            w.end("PolicyVersion");
        }
        Op::ListPolicyVersions => {
            let page = iam.list_policy_versions(auth, req(p, "PolicyArn")?, &page(p)).await?;
            w.list("Versions", &page.items, |w, (v, d)| encode::policy_version_members(w, v, *d, false));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::SetDefaultPolicyVersion => iam.set_default_policy_version(auth, req(p, "PolicyArn")?, req(p, "VersionId")?).await?,
        Op::DeletePolicyVersion => iam.delete_policy_version(auth, req(p, "PolicyArn")?, req(p, "VersionId")?).await?,
        Op::AttachUserPolicy | Op::AttachGroupPolicy | Op::AttachRolePolicy => {
            let kind = kind_of(op.name());
            iam.attach_policy(auth, kind, req(p, principal_param(kind))?, req(p, "PolicyArn")?).await?;
        }
        Op::DetachUserPolicy | Op::DetachGroupPolicy | Op::DetachRolePolicy => {
            let kind = kind_of(op.name());
            iam.detach_policy(auth, kind, req(p, principal_param(kind))?, req(p, "PolicyArn")?).await?;
        }
        Op::ListAttachedUserPolicies | Op::ListAttachedGroupPolicies | Op::ListAttachedRolePolicies => {
            let kind = kind_of(op.name());
            let page = iam.list_attached_policies(auth, kind, req(p, principal_param(kind))?, opt(p, "PathPrefix"), &page(p)).await?;
            encode::attached(&mut w, "AttachedPolicies", &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::ListEntitiesForPolicy => {
            let e = iam.list_entities_for_policy(auth, req(p, "PolicyArn")?, opt(p, "EntityFilter"), opt(p, "PathPrefix")).await?;
            w.list("PolicyGroups", &e.groups, |w, (n, id)| {
                w.leaf("GroupName", n).leaf("GroupId", id);
            });
            w.list("PolicyUsers", &e.users, |w, (n, id)| {
                w.leaf("UserName", n).leaf("UserId", id);
            });
            w.list("PolicyRoles", &e.roles, |w, (n, id)| {
                w.leaf("RoleName", n).leaf("RoleId", id);
            });
            encode::truncation(&mut w, None);
        }

        // Inline policies
        Op::PutUserPolicy | Op::PutGroupPolicy | Op::PutRolePolicy => {
            let kind = kind_of(op.name());
            iam.put_inline_policy(auth, kind, req(p, principal_param(kind))?, req(p, "PolicyName")?, req(p, "PolicyDocument")?).await?;
        }
        Op::GetUserPolicy | Op::GetGroupPolicy | Op::GetRolePolicy => {
            let kind = kind_of(op.name());
            let principal = req(p, principal_param(kind))?;
            let name = req(p, "PolicyName")?;
            let doc = iam.get_inline_policy(auth, kind, principal, name).await?;
            w.leaf(principal_param(kind), principal).leaf("PolicyName", name).document("PolicyDocument", &doc);
        }
        Op::DeleteUserPolicy | Op::DeleteGroupPolicy | Op::DeleteRolePolicy => {
            let kind = kind_of(op.name());
            iam.delete_inline_policy(auth, kind, req(p, principal_param(kind))?, req(p, "PolicyName")?).await?;
        }
        Op::ListUserPolicies | Op::ListGroupPolicies | Op::ListRolePolicies => {
            let kind = kind_of(op.name());
            let page = iam.list_inline_policies(auth, kind, req(p, principal_param(kind))?, &page(p)).await?;
            w.list("PolicyNames", &page.items, |w, n| {
                w.text(n);
            });
            encode::truncation(&mut w, page.marker.as_deref());
        }

        // Access keys
        Op::CreateAccessKey => {
            let k = iam.create_access_key(auth, opt(p, "UserName")).await?;
            w.start("AccessKey");
            if !k.user_name.is_empty() {
                w.leaf("UserName", &k.user_name);
            }
            w.leaf("AccessKeyId", &k.access_key_id)
                .leaf("Status", k.status.as_str())
                .leaf("SecretAccessKey", &k.secret_access_key)
                .time("CreateDate", ts(k.created_at))
                .end("AccessKey");
        }
        Op::ListAccessKeys => {
            let page = iam.list_access_keys(auth, opt(p, "UserName"), &page(p)).await?;
            w.list("AccessKeyMetadata", &page.items, |w, (n, k)| encode::access_key_metadata(w, n, k));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateAccessKey => iam.update_access_key(auth, opt(p, "UserName"), req(p, "AccessKeyId")?, portcullis_core::key_status(req(p, "Status")?)?).await?,
        Op::DeleteAccessKey => iam.delete_access_key(auth, opt(p, "UserName"), req(p, "AccessKeyId")?).await?,
        Op::GetAccessKeyLastUsed => {
            let u = iam.access_key_last_used(auth, req(p, "AccessKeyId")?).await?;
            if !u.user_name.is_empty() {
                w.leaf("UserName", &u.user_name);
            }
            w.start("AccessKeyLastUsed")
                .opt_time("LastUsedDate", u.last_used_at.map(ts))
                .leaf("ServiceName", &u.service)
                .leaf("Region", &u.region)
                .end("AccessKeyLastUsed");
        }

        // Login profiles
        Op::CreateLoginProfile => {
            let (name, created, reset) = iam
                .create_login_profile(auth, req(p, "UserName")?, req(p, "Password")?, flag(p, "PasswordResetRequired").unwrap_or(false))
                .await?;
            login_profile(&mut w, &name, created, reset);
        }
        Op::GetLoginProfile => {
            let (name, created, reset) = iam.get_login_profile(auth, req(p, "UserName")?).await?;
            login_profile(&mut w, &name, created, reset);
        }
        Op::UpdateLoginProfile => {
            iam.update_login_profile(auth, req(p, "UserName")?, opt(p, "Password"), flag(p, "PasswordResetRequired")).await?;
        }
        Op::ChangePassword => iam.change_password(auth, req(p, "OldPassword")?, req(p, "NewPassword")?).await?,
        Op::DeleteLoginProfile => iam.delete_login_profile(auth, req(p, "UserName")?).await?,

        // Password policy
        Op::UpdateAccountPasswordPolicy => {
            let input = PasswordPolicyInput {
                minimum_length: int(p, "MinimumPasswordLength"),
                require_symbols: flag(p, "RequireSymbols"),
                require_numbers: flag(p, "RequireNumbers"),
                require_uppercase: flag(p, "RequireUppercaseCharacters"),
                require_lowercase: flag(p, "RequireLowercaseCharacters"),
                allow_users_to_change: flag(p, "AllowUsersToChangePassword"),
                max_age_days: int(p, "MaxPasswordAge"),
                reuse_prevention: int(p, "PasswordReusePrevention"),
                hard_expiry: flag(p, "HardExpiry"),
            };
            iam.update_account_password_policy(auth, &input).await?;
        }
        Op::GetAccountPasswordPolicy => {
            let pp = iam.get_account_password_policy(auth).await?;
            w.start("PasswordPolicy")
                .num("MinimumPasswordLength", pp.minimum_length)
                .bool("RequireSymbols", pp.require_symbols)
                .bool("RequireNumbers", pp.require_numbers)
                .bool("RequireUppercaseCharacters", pp.require_uppercase)
                .bool("RequireLowercaseCharacters", pp.require_lowercase)
                .bool("AllowUsersToChangePassword", pp.allow_users_to_change)
                .bool("ExpirePasswords", pp.max_age_days.is_some());
            if let Some(d) = pp.max_age_days {
                w.num("MaxPasswordAge", d);
            }
            if let Some(n) = pp.reuse_prevention {
                w.num("PasswordReusePrevention", n);
            }
            // AWS leaves HardExpiry out unless it was set.
            if pp.hard_expiry {
                w.bool("HardExpiry", true);
            }
            w.end("PasswordPolicy");
        }
        Op::DeleteAccountPasswordPolicy => iam.delete_account_password_policy(auth).await?,

        // Credential report
        Op::GenerateCredentialReport => {
            let state = iam.generate_credential_report(auth).await?;
            w.leaf("State", state);
            if state == "STARTED" {
                w.leaf("Description", "No report exists. Starting a new report generation task");
            }
        }
        Op::GetCredentialReport => {
            let (csv, at) = iam.get_credential_report(auth).await?;
            w.leaf("Content", &B64.encode(csv.as_bytes())).leaf("ReportFormat", "text/csv").time("GeneratedTime", ts(at));
        }

        // Account
        Op::CreateAccountAlias => iam.create_account_alias(auth, req(p, "AccountAlias")?).await?,
        Op::DeleteAccountAlias => iam.delete_account_alias(auth, req(p, "AccountAlias")?).await?,
        Op::ListAccountAliases => {
            let aliases = iam.list_account_aliases(auth).await?;
            w.list("AccountAliases", &aliases, |w, a| {
                w.text(a);
            });
            encode::truncation(&mut w, None);
        }
        Op::GetAccountSummary => {
            let s = iam.account_summary(auth).await?;
            w.start("SummaryMap");
            for (k, v) in &s.entries {
                w.start("entry").leaf("key", k).num("value", *v).end("entry");
            }
            w.end("SummaryMap");
        }
        Op::GetAccountAuthorizationDetails => {
            let d = iam.authorization_details(auth, &p.string_list("Filter")).await?;
            crate::encode::authorization_details(&mut w, &d);
        }

        // Virtual MFA devices
        Op::CreateVirtualMFADevice => {
            let d = iam.create_virtual_mfa_device(auth, req(p, "VirtualMFADeviceName")?, opt(p, "Path"), &tags(p)).await?;
            w.start("VirtualMFADevice")
                .leaf("SerialNumber", &d.serial_number)
                .leaf("Base32StringSeed", &B64.encode(d.base32_seed.as_bytes()))
                .leaf("QRCodePNG", &d.qr_png_base64);
            if !d.tags.is_empty() {
                encode::tags(&mut w, "Tags", &d.tags);
            }
            w.end("VirtualMFADevice");
        }
        Op::EnableMFADevice => {
            iam.enable_mfa_device(auth, req(p, "UserName")?, req(p, "SerialNumber")?, req(p, "AuthenticationCode1")?, req(p, "AuthenticationCode2")?).await?;
        }
        Op::ResyncMFADevice => {
            iam.resync_mfa_device(auth, req(p, "UserName")?, req(p, "SerialNumber")?, req(p, "AuthenticationCode1")?, req(p, "AuthenticationCode2")?).await?;
        }
        Op::DeactivateMFADevice => iam.deactivate_mfa_device(auth, opt(p, "UserName"), req(p, "SerialNumber")?).await?,
        Op::DeleteVirtualMFADevice => iam.delete_virtual_mfa_device(auth, req(p, "SerialNumber")?).await?,
        Op::ListMFADevices => {
            let page = iam.list_mfa_devices(auth, opt(p, "UserName"), &page(p)).await?;
            w.list("MFADevices", &page.items, |w, (user, serial, enabled)| {
                w.leaf("UserName", user).leaf("SerialNumber", serial).time("EnableDate", ts(*enabled));
            });
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::ListVirtualMFADevices => {
            let page = iam.list_virtual_mfa_devices(auth, opt(p, "AssignmentStatus"), &page(p)).await?;
            w.list("VirtualMFADevices", &page.items, |w, d| encode::virtual_mfa_device(w, d));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::GetMFADevice => {
            let d = iam.get_mfa_device(auth, req(p, "SerialNumber")?).await?;
            if let Some((u, _)) = &d.user {
                w.leaf("UserName", &u.name);
            }
            w.leaf("SerialNumber", &d.serial_number);
            w.opt_time("EnableDate", d.enabled_at.map(ts));
        }

        // The policy simulator
        Op::SimulatePrincipalPolicy => {
            let input = simulation_input(p);
            let results = iam.simulate_principal_policy(auth, req(p, "PolicySourceArn")?, &input).await?;
            let page = Page::from_all(results, &page(p))?;
            encode::evaluation_results(&mut w, &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::SimulateCustomPolicy => {
            let input = simulation_input(p);
            let results = iam.simulate_custom_policy(auth, &input)?;
            let page = Page::from_all(results, &page(p))?;
            encode::evaluation_results(&mut w, &page.items);
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::GetContextKeysForPrincipalPolicy => {
            let keys = iam.context_keys_for_principal(auth, req(p, "PolicySourceArn")?, &p.string_list("PolicyInputList")).await?;
            w.list("ContextKeyNames", &keys, |w, k| {
                w.text(k);
            });
        }
        Op::GetContextKeysForCustomPolicy => {
            let keys = iam.context_keys_for_custom(&p.string_list("PolicyInputList"))?;
            w.list("ContextKeyNames", &keys, |w, k| {
                w.text(k);
            });
        }

        // SSH public keys
        Op::UploadSSHPublicKey => {
            let k = iam.upload_ssh_public_key(auth, req(p, "UserName")?, req(p, "SSHPublicKeyBody")?).await?;
            encode::ssh_public_key(&mut w, &k);
        }
        Op::GetSSHPublicKey => {
            let pem = req(p, "Encoding")? == "PEM";
            let k = iam.get_ssh_public_key(auth, req(p, "UserName")?, req(p, "SSHPublicKeyId")?, pem).await?;
            encode::ssh_public_key(&mut w, &k);
        }
        Op::ListSSHPublicKeys => {
            let page = iam.list_user_credentials(auth, opt(p, "UserName"), CredentialKind::SshPublicKey, &page(p)).await?;
            w.list("SSHPublicKeys", &page.items, |w, k| {
                w.leaf("UserName", &k.user_name)
                    .leaf("SSHPublicKeyId", &k.record.credential_id)
                    .leaf("Status", k.record.status.as_str())
                    .time("UploadDate", ts(k.record.created_at));
            });
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateSSHPublicKey => {
            iam.update_user_credential_status(auth, Some(req(p, "UserName")?), req(p, "SSHPublicKeyId")?, CredentialKind::SshPublicKey, portcullis_core::key_status(req(p, "Status")?)?).await?;
        }
        Op::DeleteSSHPublicKey => {
            iam.delete_user_credential(auth, Some(req(p, "UserName")?), req(p, "SSHPublicKeyId")?, CredentialKind::SshPublicKey).await?;
        }

        // Signing certificates
        Op::UploadSigningCertificate => {
            let c = iam.upload_signing_certificate(auth, opt(p, "UserName"), req(p, "CertificateBody")?).await?;
            w.start("Certificate");
            encode::signing_certificate_members(&mut w, &c);
            w.end("Certificate");
        }
        Op::ListSigningCertificates => {
            let page = iam.list_user_credentials(auth, opt(p, "UserName"), CredentialKind::SigningCertificate, &page(p)).await?;
            w.list("Certificates", &page.items, |w, c| encode::signing_certificate_members(w, c));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateSigningCertificate => {
            iam.update_user_credential_status(auth, opt(p, "UserName"), req(p, "CertificateId")?, CredentialKind::SigningCertificate, portcullis_core::key_status(req(p, "Status")?)?).await?;
        }
        Op::DeleteSigningCertificate => {
            iam.delete_user_credential(auth, opt(p, "UserName"), req(p, "CertificateId")?, CredentialKind::SigningCertificate).await?;
        }

        // Service-specific credentials
        Op::CreateServiceSpecificCredential => {
            let c = iam.create_service_specific_credential(auth, req(p, "UserName")?, req(p, "ServiceName")?, int(p, "CredentialAgeDays")).await?;
            encode::service_specific_credential(&mut w, &c);
        }
        Op::ResetServiceSpecificCredential => {
            let c = iam.reset_service_specific_credential(auth, opt(p, "UserName"), req(p, "ServiceSpecificCredentialId")?).await?;
            encode::service_specific_credential(&mut w, &c);
        }
        Op::ListServiceSpecificCredentials => {
            let service = opt(p, "ServiceName").map(|s| iam.check_credential_service(s)).transpose()?;
            let mut page = iam.list_user_credentials(auth, opt(p, "UserName"), CredentialKind::ServiceSpecific, &page(p)).await?;
            if let Some(s) = service {
                page.items.retain(|c| c.record.body == s);
            }
            w.list("ServiceSpecificCredentials", &page.items, |w, c| encode::service_specific_credential_metadata(w, c));
            encode::truncation(&mut w, page.marker.as_deref());
        }
        Op::UpdateServiceSpecificCredential => {
            iam.update_user_credential_status(auth, opt(p, "UserName"), req(p, "ServiceSpecificCredentialId")?, CredentialKind::ServiceSpecific, portcullis_core::key_status(req(p, "Status")?)?).await?;
        }
        Op::DeleteServiceSpecificCredential => {
            iam.delete_user_credential(auth, opt(p, "UserName"), req(p, "ServiceSpecificCredentialId")?, CredentialKind::ServiceSpecific).await?;
        }

    }
    Ok(Some(w))
}

fn login_profile(w: &mut XmlWriter, name: &str, created: i64, reset: bool) {
    w.start("LoginProfile")
        .leaf("UserName", name)
        .time("CreateDate", ts(created))
        .bool("PasswordResetRequired", reset)
        .end("LoginProfile");
}

/// What every access advisor report starts with: the job's status, type and creation.
fn job_header(w: &mut XmlWriter, job: &portcullis_core::views::AccessReportJob) {
    w.leaf("JobStatus", "COMPLETED").leaf("JobType", &job.granularity).time("JobCreationDate", ts(job.created_at));
}

/// A delegation request's members (GetDelegationRequest, ListDelegationRequests).
fn delegation_request(w: &mut XmlWriter, r: &DelegationRequestView) {
    w.leaf("DelegationRequestId", &r.id).opt("OwnerAccountId", r.owner_account_id.as_deref()).leaf("Description", &r.description);
    w.opt("RequestMessage", r.request_message.as_deref());
    w.start("Permissions").leaf("PolicyTemplateArn", &r.policy_template_arn);
    w.list("Parameters", &r.parameters, |w, param| {
        w.leaf("Name", &param.name);
        w.list("Values", &param.values, |w, v| {
            w.text(v);
        });
        w.opt("Type", param.kind.as_deref());
    });
    w.end("Permissions");
    w.leaf("PermissionPolicy", &r.permission_policy);
    w.opt("OwnerId", r.owner_id.as_deref()).opt("ApproverId", r.approver_id.as_deref()).leaf("State", &r.state);
    w.time("ExpirationTime", ts(r.expiration_time)).leaf("RequestorId", &r.requestor_id).leaf("RequestorName", &r.requestor_name);
    w.time("CreateDate", ts(r.created_at)).num("SessionDuration", r.session_duration);
    w.opt("RedirectUrl", r.redirect_url.as_deref()).opt("Notes", r.notes.as_deref()).opt("RejectionReason", r.rejection_reason.as_deref());
    w.bool("OnlySendByOwner", r.only_send_by_owner).time("UpdatedTime", ts(r.updated_at));
}
