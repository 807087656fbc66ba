//! Service-linked roles: roles an AWS service owns (path `/aws-service-role/SERVICE/`), with
//! the service's trust policy and the managed policy AWS attaches for it. People create and
//! delete them (CreateServiceLinkedRole, DeleteServiceLinkedRole) but cannot change their
//! trust or permissions: such calls are `UnmodifiableEntity`, as on AWS. Only their
//! description may change.

use portcullis_credentials::new_unique_id;
use portcullis_store::{PrincipalKind, RoleRecord, Tx};

use crate::roles::{load_role, RoleView};
use crate::{iam_arn, Authorized, Iam, IamError, IamResult};

/// Services and their roles as AWS names them: (service principal, role name, the managed
/// policy under `arn:aws:iam::aws:policy/aws-service-role/`, whether a custom suffix is
/// allowed).
const SERVICES: &[(&str, &str, &str, bool)] = &[
    ("accountdiscovery.ssm.amazonaws.com", "AWSServiceRoleForAmazonSSM_AccountDiscovery", "AWSSystemsManagerAccountDiscoveryServicePolicy", false),
    ("acm.amazonaws.com", "AWSServiceRoleForCertificateManager", "CertificateManagerServiceRolePolicy", false),
    ("appmesh.amazonaws.com", "AWSServiceRoleForAppMesh", "AWSAppMeshServiceRolePolicy", false),
    ("autoscaling-plans.amazonaws.com", "AWSServiceRoleForAutoScalingPlans_EC2AutoScaling", "AWSAutoScalingPlansEC2AutoScalingPolicy", false),
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy", true),
    ("backup.amazonaws.com", "AWSServiceRoleForBackup", "AWSBackupServiceLinkedRolePolicyForBackup", false),
    ("batch.amazonaws.com", "AWSServiceRoleForBatch", "BatchServiceRolePolicy", false),
    ("cassandra.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_CassandraTable", "AWSApplicationAutoscalingCassandraTablePolicy", false),
    ("cks.kms.amazonaws.com", "AWSServiceRoleForKeyManagementServiceCustomKeyStores", "AWSKeyManagementServiceCustomKeyStoresServiceRolePolicy", false),
    ("cloudtrail.amazonaws.com", "AWSServiceRoleForCloudTrail", "CloudTrailServiceRolePolicy", false),
    ("codestar-notifications.amazonaws.com", "AWSServiceRoleForCodeStarNotifications", "AWSCodeStarNotificationsServiceRolePolicy", false),
    ("config.amazonaws.com", "AWSServiceRoleForConfig", "AWSConfigServiceRolePolicy", false),
    ("connect.amazonaws.com", "AWSServiceRoleForAmazonConnect", "AmazonConnectServiceLinkedRolePolicy", true),
    ("dms-fleet-advisor.amazonaws.com", "AWSServiceRoleForDMSFleetAdvisor", "AWSDMSFleetAdvisorServiceRolePolicy", false),
    ("dms.amazonaws.com", "AWSServiceRoleForDMSServerless", "AWSDMSServerlessServiceRolePolicy", false),
    ("docdb-elastic.amazonaws.com", "AWSServiceRoleForDocDB-Elastic", "AmazonDocDB-ElasticServiceRolePolicy", false),
    ("dynamodb.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_DynamoDBTable", "AWSApplicationAutoscalingDynamoDBTablePolicy", false),
    ("ec2-instance-connect.amazonaws.com", "AWSServiceRoleForEc2InstanceConnect", "Ec2InstanceConnectEndpoint", false),
    ("ec2.application-autoscaling.amazonaws.com", "AWSServiceRoleForApplicationAutoScaling_EC2SpotFleetRequest", "AWSApplicationAutoscalingEC2SpotFleetRequestPolicy", false),
    ("ecr.amazonaws.com", "AWSServiceRoleForECRTemplate", "ECRTemplateServiceRolePolicy", false),
    ("ecs.amazonaws.com", "AWSServiceRoleForECS", "AmazonECSServiceRolePolicy", false),
    ("eks-connector.amazonaws.com", "AWSServiceRoleForAmazonEKSConnector", "AmazonEKSConnectorServiceRolePolicy", false),
    ("eks-fargate.amazonaws.com", "AWSServiceRoleForAmazonEKSForFargate", "AmazonEKSForFargateServiceRolePolicy", false),
    ("eks-nodegroup.amazonaws.com", "AWSServiceRoleForAmazonEKSNodegroup", "AWSServiceRoleForAmazonEKSNodegroup", false),
    ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy", false),
    ("elasticache.amazonaws.com", "AWSServiceRoleForElastiCache", "ElastiCacheServiceRolePolicy", false),
    ("elasticbeanstalk.amazonaws.com", "AWSServiceRoleForElasticBeanstalk", "AWSElasticBeanstalkServiceRolePolicy", false),
    ("elasticfilesystem.amazonaws.com", "AWSServiceRoleForAmazonElasticFileSystem", "AmazonElasticFileSystemServiceRolePolicy", false),
    ("elasticloadbalancing.amazonaws.com", "AWSServiceRoleForElasticLoadBalancing", "AWSElasticLoadBalancingServiceRolePolicy", false),
    ("email.cognito-idp.amazonaws.com", "AWSServiceRoleForAmazonCognitoIdpEmailService", "AmazonCognitoIdpEmailServiceRolePolicy", false),
    ("emr-containers.amazonaws.com", "AWSServiceRoleForAmazonEMRContainers", "AmazonEMRContainersServiceRolePolicy", false),
    ("emrwal.amazonaws.com", "AWSServiceRoleForEMRWAL", "EMRDescribeClusterPolicyForEMRWAL", false),
    ("es.amazonaws.com", "AWSServiceRoleForAmazonElasticsearchService", "AmazonElasticsearchServiceRolePolicy", false),
    ("fis.amazonaws.com", "AWSServiceRoleForFIS", "AmazonFISServiceRolePolicy", false),
    ("grafana.amazonaws.com", "AWSServiceRoleForAmazonGrafana", "AmazonGrafanaServiceLinkedRolePolicy", false),
    ("guardduty.amazonaws.com", "AWSServiceRoleForAmazonGuardDuty", "AmazonGuardDutyServiceRolePolicy", false),
    ("imagebuilder.amazonaws.com", "AWSServiceRoleForImageBuilder", "AWSServiceRoleForImageBuilder", false),
    ("iotmanagedintegrations.amazonaws.com", "AWSServiceRoleForIoTManagedIntegrations", "AWSIoTManagedIntegrationsRolePolicy", false),
    ("kafka.amazonaws.com", "AWSServiceRoleForKafka", "KafkaServiceRolePolicy", false),
    ("kafkaconnect.amazonaws.com", "AWSServiceRoleForKafkaConnect", "KafkaConnectServiceRolePolicy", false),
    ("lakeformation.amazonaws.com", "AWSServiceRoleForLakeFormationDataAccess", "LakeFormationDataAccessServiceRolePolicy", false),
    ("lex.amazonaws.com", "AWSServiceRoleForLexBots", "AmazonLexBotPolicy", false),
    ("lexv2.amazonaws.com", "AWSServiceRoleForLexV2Bots", "AmazonLexV2BotPolicy", true),
    ("lightsail.amazonaws.com", "AWSServiceRoleForLightsail", "LightsailExportAccess", false),
    ("m2.amazonaws.com", "AWSServiceRoleForAWSM2", "AWSM2ServicePolicy", false),
    ("memorydb.amazonaws.com", "AWSServiceRoleForMemoryDB", "MemoryDBServiceRolePolicy", false),
    ("mq.amazonaws.com", "AWSServiceRoleForAmazonMQ", "AmazonMQServiceRolePolicy", false),
    ("mrk.kms.amazonaws.com", "AWSServiceRoleForKeyManagementServiceMultiRegionKeys", "AWSKeyManagementServiceMultiRegionKeysServiceRolePolicy", false),
    ("notifications.amazonaws.com", "AWSServiceRoleForAwsUserNotifications", "AWSUserNotificationsServiceLinkedRolePolicy", false),
    ("observability.aoss.amazonaws.com", "AWSServiceRoleForAmazonOpenSearchServerless", "AmazonOpenSearchServerlessServiceRolePolicy", false),
    ("opensearchservice.amazonaws.com", "AWSServiceRoleForAmazonOpenSearchService", "AmazonOpenSearchServiceRolePolicy", false),
    ("ops.apigateway.amazonaws.com", "AWSServiceRoleForAPIGateway", "APIGatewayServiceRolePolicy", false),
    ("ops.emr-serverless.amazonaws.com", "AWSServiceRoleForAmazonEMRServerless", "AmazonEMRServerlessServiceRolePolicy", false),
    ("opsdatasync.ssm.amazonaws.com", "AWSServiceRoleForSystemsManagerOpsDataSync", "AWSSystemsManagerOpsDataSyncServiceRolePolicy", false),
    ("opsinsights.ssm.amazonaws.com", "AWSServiceRoleForAmazonSSM_OpsInsights", "AWSSSMOpsInsightsServiceRolePolicy", false),
    ("organizations.amazonaws.com", "AWSServiceRoleForOrganizations", "AWSOrganizationsServiceTrustPolicy", false),
    ("pullthroughcache.ecr.amazonaws.com", "AWSServiceRoleForECRPullThroughCache", "AWSECRPullThroughCache_ServiceRolePolicy", false),
    ("ram.amazonaws.com", "AWSServiceRoleForResourceAccessManager", "AWSResourceAccessManagerServiceRolePolicy", false),
    ("rds.amazonaws.com", "AWSServiceRoleForRDS", "AmazonRDSServiceRolePolicy", false),
    ("redshift.amazonaws.com", "AWSServiceRoleForRedshift", "AmazonRedshiftServiceLinkedRolePolicy", false),
    ("replication.cassandra.amazonaws.com", "AWSServiceRoleForKeyspacesReplication", "KeyspacesReplicationServiceRolePolicy", false),
    ("replication.dynamodb.amazonaws.com", "AWSServiceRoleForDynamoDBReplication", "DynamoDBReplicationServiceRolePolicy", false),
    ("replication.ecr.amazonaws.com", "AWSServiceRoleForECRReplication", "ECRReplicationServiceRolePolicy", false),
    ("repository.sync.codeconnections.amazonaws.com", "AWSServiceRoleForGitSync", "AWSGitSyncServiceRolePolicy", false),
    ("resource-explorer-2.amazonaws.com", "AWSServiceRoleForResourceExplorer", "AWSResourceExplorerServiceRolePolicy", false),
    ("rolesanywhere.amazonaws.com", "AWSServiceRoleForRolesAnywhere", "AWSRolesAnywhereServicePolicy", false),
    ("s3-outposts.amazonaws.com", "AWSServiceRoleForS3OnOutposts", "AWSS3OnOutpostsServiceRolePolicy", false),
    ("securityhub.amazonaws.com", "AWSServiceRoleForSecurityHub", "AWSSecurityHubServiceRolePolicy", false),
    ("ses.amazonaws.com", "AWSServiceRoleForAmazonSES", "AmazonSESServiceRolePolicy", false),
    ("shield.amazonaws.com", "AWSServiceRoleForAWSShield", "AWSShieldServiceRolePolicy", false),
    ("spot.amazonaws.com", "AWSServiceRoleForEC2Spot", "AWSEC2SpotServiceRolePolicy", false),
    ("spotfleet.amazonaws.com", "AWSServiceRoleForEC2SpotFleet", "AWSEC2SpotFleetServiceRolePolicy", false),
    ("ssm-incidents.amazonaws.com", "AWSServiceRoleForIncidentManager", "AWSIncidentManagerServiceRolePolicy", false),
    ("ssm-quicksetup.amazonaws.com", "AWSServiceRoleForSSMQuickSetup", "SSMQuickSetupRolePolicy", false),
    ("ssm.amazonaws.com", "AWSServiceRoleForAmazonSSM", "AmazonSSMServiceRolePolicy", false),
    ("sso.amazonaws.com", "AWSServiceRoleForSSO", "AWSSSOServiceRolePolicy", false),
    ("vpcorigin.cloudfront.amazonaws.com", "AWSServiceRoleForCloudFrontVPCOrigin", "AWSCloudFrontVPCOriginServiceRolePolicy", false),
    ("waf.amazonaws.com", "AWSServiceRoleForWAFLogging", "WAFLoggingServiceRolePolicy", false),
    ("wafv2.amazonaws.com", "AWSServiceRoleForWAFV2Logging", "WAFV2LoggingServiceRolePolicy", false),
];

/// Whether a role belongs to a service.
pub(crate) fn is_service_linked(role: &RoleRecord) -> bool {
    role.path.starts_with("/aws-service-role/")
}

/// A role a service manages: service-linked, or reserved (Identity Center's
/// `/aws-reserved/sso.amazonaws.com/` roles).
pub(crate) fn is_protected(role: &RoleRecord) -> bool {
    is_service_linked(role) || role.path.starts_with("/aws-reserved/")
}

/// Refuses to change a service-linked or reserved role's trust or permissions.
pub(crate) fn check_modifiable(role: &RoleRecord) -> IamResult<()> {
    if is_protected(role) {
        return Err(IamError::UnmodifiableEntity(format!(
            "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
            role.name
        )));
    }
    Ok(())
}

/// The role behind a user/group/role name, refused when it is service-linked (for the
/// calls that change policies).
pub(crate) async fn check_principal_modifiable(tx: &mut Box<dyn Tx>, account: &str, kind: PrincipalKind, name: &str) -> IamResult<()> {
    if kind == PrincipalKind::Role {
        check_modifiable(&load_role(tx, account, name).await?)?;
    }
    Ok(())
}

fn trust_policy(service: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#)
}

impl Iam {
    pub async fn create_service_linked_role(&self, auth: &Authorized<'_>, service: &str, description: Option<&str>, suffix: Option<&str>) -> IamResult<RoleView> {
        let Some(&(_, base, policy, suffix_allowed)) = SERVICES.iter().find(|(s, ..)| *s == service) else {
            return Err(IamError::AccessDenied(format!("Cannot find Service Linked Role template for {service}")));
        };
        let name = match suffix {
            Some(_) if !suffix_allowed => return Err(IamError::InvalidInput(format!("Custom suffix is not allowed for {service}"))),
            Some(s) => format!("{base}_{s}"),
            None => base.to_owned(),
        };
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("roles:{account}")).await?;
        if tx.get_role(account, &name).await?.is_some() {
            return Err(IamError::InvalidInput(format!("Service role name {name} has been taken in this account, please try a different suffix.")));
        }
        let role = RoleRecord {
            account_id: account.to_owned(),
            role_id: new_unique_id("AROA")?,
            name,
            path: format!("/aws-service-role/{service}/"),
            created_at: self.now(),
            assume_role_policy: trust_policy(service),
            description: description.map(str::to_owned),
            max_session_duration: 3600,
            permissions_boundary: None,
            last_used_at: None,
            last_used_region: None,
        };
        tx.insert_role(&role).await?;
        let now = self.now();
        tx.attach_policy(account, PrincipalKind::Role, &role.role_id, &format!("arn:aws:iam::aws:policy/aws-service-role/{policy}"), now).await?;
        tx.commit().await?;
        let arn = iam_arn(account, "role", &role.path, &role.name);
        Ok(RoleView { role, arn, tags: Vec::new() })
    }

    /// Deletes a service-linked role (with its policy attachment) and returns the deletion
    /// task's id, `task/aws-service-role/SERVICE/ROLE/UUID`.
    pub async fn delete_service_linked_role(&self, auth: &Authorized<'_>, name: &str) -> IamResult<String> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        let role = load_role(&mut tx, account, name).await?;
        if !is_service_linked(&role) {
            return Err(IamError::InvalidInput(format!("Role {name} is not a service-linked role.")));
        }
        for arn in tx.attached_policies(PrincipalKind::Role, &role.role_id).await? {
            tx.detach_policy(PrincipalKind::Role, &role.role_id, &arn).await?;
        }
        for policy in tx.inline_policy_names(PrincipalKind::Role, &role.role_id).await? {
            tx.delete_inline_policy(PrincipalKind::Role, &role.role_id, &policy).await?;
        }
        for profile in tx.instance_profiles_for_role(&role.role_id).await? {
            tx.remove_instance_profile_role(&profile.instance_profile_id, &role.role_id).await?;
        }
        tx.delete_role(&role.role_id).await?;
        tx.commit().await?;
        let task = uuid_like()?;
        Ok(format!("task{}{}/{task}", role.path, role.name))
    }

    /// A deletion task's status: deletions finish at once, so a task whose role is gone has
    /// `SUCCEEDED`. The id is checked for its form and account's role path.
    pub async fn service_linked_role_deletion_status(&self, auth: &Authorized<'_>, task_id: &str) -> IamResult<&'static str> {
        let invalid = || IamError::InvalidInput(format!("Invalid deletion task id: {task_id}"));
        let rest = task_id.strip_prefix("task/aws-service-role/").ok_or_else(invalid)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [service, role, task] = parts.as_slice() else { return Err(invalid()) };
        if service.is_empty() || role.is_empty() || task.len() != 36 {
            return Err(invalid());
        }
        let mut tx = self.store.begin_read().await?;
        let still = tx.get_role(auth.account(), role).await?.filter(|r| r.path == format!("/aws-service-role/{service}/"));
        Ok(if still.is_some() { "IN_PROGRESS" } else { "SUCCEEDED" })
    }
}

/// A random UUID-shaped id (8-4-4-4-12 hex digits).
fn uuid_like() -> IamResult<String> {
    let b = portcullis_credentials::random_bytes::<16>()?;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}
