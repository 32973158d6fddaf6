# Everything CI needs in one environment account:
#   - the GitHub Actions OIDC provider,
#   - the permissions boundary that caps every workload role (no IAM except
#     passing a workload role to SageMaker),
#   - the deploy role (apply the main stack, upsert/run the pipeline, serve
#     approved models on the environment's endpoint, write this environment's
#     promotion and serving records),
#   - the read-only plan role (refresh + state read; plans run with -lock=false),
#   - the account-wide S3 public access block.
# The workload roles of the main stack live on the IAM path "/<name>-workload/";
# the deploy role may manage, and pass, roles on that path only, may create
# only the two workload roles by name, and may never change a role's trust
# policy or delete a role (an administrator's job).
# Policies are built with jsonencode() so tests can parse them.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # Everything the project creates in this account is named "<name>-*".
  project_pattern = "${var.name}-*"

  # The main stack puts its roles (execution role, scheduler role) on this path.
  workload_role_path = "/${var.name}-workload/"

  iam_arn_prefix       = "arn:${local.partition}:iam::${var.account_id}"
  sagemaker_arn_prefix = "arn:${local.partition}:sagemaker:${var.region}:${var.account_id}"

  # `deno task serve` names the environment's endpoint "<name>-<env>" and its models and endpoint
  # configs "<name>-<env>-v<version>…"; the deploy role manages only those.
  serving_prefix = "${var.name}-${var.environment}"

  boundary_policy_arn = "${local.iam_arn_prefix}:policy/${var.boundary_policy_name}"
  deploy_role_arn     = "${local.iam_arn_prefix}:role/${var.deploy_role_name}"
  plan_role_arn       = "${local.iam_arn_prefix}:role/${var.plan_role_name}"
  workload_role_arns  = "${local.iam_arn_prefix}:role${local.workload_role_path}*"

  # The only roles the deploy role may create: the main stack's, by exact name.
  workload_role_create_arns = [
    "${local.iam_arn_prefix}:role${local.workload_role_path}${var.execution_role_name}",
    "${local.iam_arn_prefix}:role${local.workload_role_path}${var.scheduler_role_name}",
  ]

  ml_bucket_arns = "arn:${local.partition}:s3:::${local.project_pattern}"
  state_bucket   = "arn:${local.partition}:s3:::${var.state_bucket_name}"
  records_bucket = "arn:${local.partition}:s3:::${var.records_bucket_name}"

  in_this_account = { StringEquals = { "aws:ResourceAccount" = var.account_id } }

  # Identity side of the cross-account state grant (the bucket policy in the
  # backend stack is the other side).
  state_read_statements = [
    {
      Sid       = "StateList"
      Effect    = "Allow"
      Action    = "s3:ListBucket"
      Resource  = local.state_bucket
      Condition = { StringLike = { "s3:prefix" = [var.state_prefix, "${var.state_prefix}*"] } }
    },
    {
      Sid      = "StateRead"
      Effect   = "Allow"
      Action   = "s3:GetObject"
      Resource = "${local.state_bucket}/${var.state_prefix}*"
    },
  ]

  deploy_statements = [
    {
      # Writes state and the native lock file (<key>.tflock) under the prefix.
      Sid      = "StateWrite"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:DeleteObject"]
      Resource = "${local.state_bucket}/${var.state_prefix}*"
    },
    {
      # Unconditioned: a missing record must read as 404, not 403 (see the records bucket policy).
      Sid      = "PromotionRecordsList"
      Effect   = "Allow"
      Action   = "s3:ListBucket"
      Resource = local.records_bucket
    },
    {
      # Promotion reads the record of the environment it promotes from.
      Sid      = "PromotionRecordsRead"
      Effect   = "Allow"
      Action   = "s3:GetObject"
      Resource = "${local.records_bucket}/promotions/*"
    },
    {
      Sid      = "PromotionRecordsWrite"
      Effect   = "Allow"
      Action   = "s3:PutObject"
      Resource = "${local.records_bucket}/promotions/${var.environment}/*"
    },
    {
      # promote looks up the commit's image digest in the operations repository.
      Sid      = "ImageLookup"
      Effect   = "Allow"
      Action   = "ecr:DescribeImages"
      Resource = var.ecr_repository_arn
    },
    {
      Sid      = "MlBucketCreate"
      Effect   = "Allow"
      Action   = "s3:CreateBucket"
      Resource = local.ml_bucket_arns
    },
    {
      Sid    = "MlBucketManage"
      Effect = "Allow"
      Action = [
        "s3:DeleteBucket",
        "s3:ListBucket",
        "s3:GetBucket*",
        "s3:GetAccelerateConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging",
        "s3:PutBucketVersioning",
        "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration",
      ]
      Resource  = local.ml_bucket_arns
      Condition = local.in_this_account
    },
    {
      # Pipeline definitions and code bundles uploaded by the tasks.
      Sid       = "MlBucketObjects"
      Effect    = "Allow"
      Action    = ["s3:GetObject", "s3:PutObject"]
      Resource  = "${local.ml_bucket_arns}/*"
      Condition = local.in_this_account
    },
    {
      Sid    = "SageMakerModelPackageGroups"
      Effect = "Allow"
      Action = [
        "sagemaker:CreateModelPackageGroup",
        "sagemaker:DeleteModelPackageGroup",
        "sagemaker:DescribeModelPackageGroup",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:ListTags",
      ]
      Resource = "${local.sagemaker_arn_prefix}:model-package-group/${local.project_pattern}"
    },
    {
      Sid    = "SageMakerModelPackages"
      Effect = "Allow"
      Action = [
        "sagemaker:DescribeModelPackage",
        "sagemaker:UpdateModelPackage",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
      ]
      Resource = "${local.sagemaker_arn_prefix}:model-package/${local.project_pattern}/*"
    },
    {
      Sid    = "SageMakerPipelines"
      Effect = "Allow"
      Action = [
        "sagemaker:CreatePipeline",
        "sagemaker:UpdatePipeline",
        "sagemaker:DeletePipeline",
        "sagemaker:DescribePipeline",
        "sagemaker:DescribePipelineDefinitionForExecution",
        "sagemaker:DescribePipelineExecution",
        "sagemaker:ListPipelineExecutions",
        "sagemaker:ListPipelineExecutionSteps",
        "sagemaker:ListPipelineParametersForExecution",
        "sagemaker:StartPipelineExecution",
        "sagemaker:StopPipelineExecution",
        "sagemaker:RetryPipelineExecution",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:ListTags",
      ]
      Resource = [
        "${local.sagemaker_arn_prefix}:pipeline/${local.project_pattern}",
        "${local.sagemaker_arn_prefix}:pipeline/${local.project_pattern}/execution/*",
      ]
    },
    {
      # deno task serve: models from approved packages, endpoint configs, the endpoint, and the
      # smoke test through InvokeEndpoint; nothing outside the environment's serving prefix.
      Sid    = "SageMakerHosting"
      Effect = "Allow"
      Action = [
        "sagemaker:CreateModel",
        "sagemaker:DescribeModel",
        "sagemaker:DeleteModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DeleteEndpointConfig",
        "sagemaker:CreateEndpoint",
        "sagemaker:UpdateEndpoint",
        "sagemaker:DescribeEndpoint",
        "sagemaker:DeleteEndpoint",
        "sagemaker:InvokeEndpoint",
        "sagemaker:AddTags",
        "sagemaker:ListTags",
      ]
      Resource = [
        "${local.sagemaker_arn_prefix}:model/${local.serving_prefix}-v*",
        "${local.sagemaker_arn_prefix}:endpoint-config/${local.serving_prefix}-v*",
        "${local.sagemaker_arn_prefix}:endpoint/${local.serving_prefix}",
      ]
    },
    {
      # Provisioned endpoints: the main stack's rollback alarms, which a blue/green update reads.
      Sid    = "EndpointAlarms"
      Effect = "Allow"
      Action = [
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListTagsForResource",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
      ]
      Resource = "arn:${local.partition}:cloudwatch:${var.region}:${var.account_id}:alarm:${local.serving_prefix}-*"
    },
    {
      # Jobs started by a pipeline get generated names: read-only, this account.
      Sid    = "SageMakerJobsRead"
      Effect = "Allow"
      Action = [
        "sagemaker:DescribeProcessingJob",
        "sagemaker:DescribeTrainingJob",
      ]
      Resource = [
        "${local.sagemaker_arn_prefix}:processing-job/*",
        "${local.sagemaker_arn_prefix}:training-job/*",
      ]
    },
    {
      # List actions do not support resource-level permissions.
      Sid    = "SageMakerList"
      Effect = "Allow"
      Action = [
        "sagemaker:ListEndpointConfigs",
        "sagemaker:ListEndpoints",
        "sagemaker:ListModelPackageGroups",
        "sagemaker:ListModelPackages",
        "sagemaker:ListModels",
        "sagemaker:ListPipelines",
        "sagemaker:ListProcessingJobs",
        "sagemaker:ListTrainingJobs",
      ]
      Resource = "*"
    },
    {
      # Opt-in Studio domain (studio.enabled in the main stack).
      Sid    = "SageMakerStudioDomain"
      Effect = "Allow"
      Action = [
        "sagemaker:CreateDomain",
        "sagemaker:UpdateDomain",
        "sagemaker:DeleteDomain",
        "sagemaker:DescribeDomain",
        "sagemaker:AddTags",
        "sagemaker:DeleteTags",
        "sagemaker:ListTags",
      ]
      Resource = "${local.sagemaker_arn_prefix}:domain/*"
    },
    {
      # The Studio domain's VPC: subnets only, no NAT gateway or endpoints.
      Sid    = "StudioNetwork"
      Effect = "Allow"
      Action = [
        "ec2:CreateVpc",
        "ec2:DeleteVpc",
        "ec2:ModifyVpcAttribute",
        "ec2:CreateSubnet",
        "ec2:DeleteSubnet",
        "ec2:ModifySubnetAttribute",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
        "ec2:Describe*",
      ]
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestedRegion" = var.region } }
    },
    {
      Sid    = "RetrainingSchedules"
      Effect = "Allow"
      Action = [
        "scheduler:CreateSchedule",
        "scheduler:UpdateSchedule",
        "scheduler:DeleteSchedule",
        "scheduler:GetSchedule",
      ]
      Resource = "arn:${local.partition}:scheduler:${var.region}:${var.account_id}:schedule/default/${local.project_pattern}"
    },
    {
      # Only the main stack's two roles, by name, on the workload path, with the boundary.
      Sid       = "WorkloadRolesCreate"
      Effect    = "Allow"
      Action    = "iam:CreateRole"
      Resource  = local.workload_role_create_arns
      Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_policy_arn } }
    },
    {
      # Policy changes only for workload roles that carry the boundary.
      Sid    = "WorkloadRolesWithBoundary"
      Effect = "Allow"
      Action = [
        "iam:PutRolePermissionsBoundary",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
      ]
      Resource  = local.workload_role_arns
      Condition = { StringEquals = { "iam:PermissionsBoundary" = local.boundary_policy_arn } }
    },
    {
      Sid    = "WorkloadRolesManage"
      Effect = "Allow"
      Action = [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
      ]
      Resource = local.workload_role_arns
    },
    {
      Sid       = "WorkloadRolesPass"
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = local.workload_role_arns
      Condition = { StringEquals = { "iam:PassedToService" = ["sagemaker.amazonaws.com", "scheduler.amazonaws.com"] } }
    },
    {
      # A trust policy change or a delete-and-recreate would let a deploy
      # session make a role trust an outside account (or itself): trust and
      # role deletion are for an administrator, on every role.
      Sid      = "DenyTrustChangesAndRoleDeletion"
      Effect   = "Deny"
      Action   = ["iam:UpdateAssumeRolePolicy", "iam:DeleteRole"]
      Resource = "*"
    },
    {
      # The CI roles, the boundary and the OIDC provider: never let the deploy
      # role touch them, whatever the allows above come to match.
      Sid    = "ProtectCiAccess"
      Effect = "Deny"
      Action = "iam:*"
      Resource = [
        local.deploy_role_arn,
        local.plan_role_arn,
        local.boundary_policy_arn,
        "${local.iam_arn_prefix}:oidc-provider/*",
      ]
    },
    {
      Sid      = "DenyBoundaryRemoval"
      Effect   = "Deny"
      Action   = "iam:DeleteRolePermissionsBoundary"
      Resource = "*"
    },
    {
      # The account-wide public access block (aws_s3_account_public_access_block
      # below) caps every bucket policy the deploy role may write.
      Sid      = "DenyAccountPublicAccessBlockChanges"
      Effect   = "Deny"
      Action   = "s3:PutAccountPublicAccessBlock"
      Resource = "*"
    },
  ]

  deploy_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.state_read_statements, local.deploy_statements)
  })

  plan_statements = [
    {
      # HeadBucket (s3:ListBucket) and the bucket configuration reads of a
      # refresh; no object reads.
      Sid    = "MlBucketConfigurationRead"
      Effect = "Allow"
      Action = [
        "s3:ListBucket",
        "s3:GetBucket*",
        "s3:GetAccelerateConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
      ]
      Resource  = local.ml_bucket_arns
      Condition = local.in_this_account
    },
    {
      Sid    = "WorkloadRolesRead"
      Effect = "Allow"
      Action = [
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
      ]
      Resource = local.workload_role_arns
    },
    {
      Sid      = "SageMakerDescribe"
      Effect   = "Allow"
      Action   = ["sagemaker:Describe*", "sagemaker:ListTags"]
      Resource = "${local.sagemaker_arn_prefix}:*"
    },
    {
      Sid      = "SchedulesRead"
      Effect   = "Allow"
      Action   = "scheduler:GetSchedule"
      Resource = "arn:${local.partition}:scheduler:${var.region}:${var.account_id}:schedule/default/${local.project_pattern}"
    },
    {
      Sid       = "NetworkRead"
      Effect    = "Allow"
      Action    = "ec2:Describe*"
      Resource  = "*"
      Condition = { StringEquals = { "aws:RequestedRegion" = var.region } }
    },
  ]

  plan_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.state_read_statements, local.plan_statements)
  })

  # The most a workload role (SageMaker execution role, scheduler role) can
  # ever do, whatever its own policy says. Nothing in IAM except handing a
  # workload role (on the workload path) to SageMaker, which pipeline steps
  # need to start jobs.
  boundary_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "MlBuckets"
        Effect = "Allow"
        Action = [
          "s3:GetBucketLocation",
          "s3:ListBucket",
          "s3:GetObject",
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
        ]
        Resource  = [local.ml_bucket_arns, "${local.ml_bucket_arns}/*"]
        Condition = local.in_this_account
      },
      {
        Sid      = "EcrAuthorization"
        Effect   = "Allow"
        Action   = "ecr:GetAuthorizationToken"
        Resource = "*"
      },
      {
        Sid    = "EcrPull"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
        ]
        Resource = var.ecr_repository_arn
      },
      {
        Sid    = "SageMakerLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
        ]
        Resource = "arn:${local.partition}:logs:${var.region}:${var.account_id}:log-group:/aws/sagemaker/*"
      },
      {
        Sid      = "Metrics"
        Effect   = "Allow"
        Action   = "cloudwatch:PutMetricData"
        Resource = "*"
      },
      {
        Sid    = "SageMakerWorkloads"
        Effect = "Allow"
        Action = [
          "sagemaker:AddTags",
          "sagemaker:CreateModelPackage",
          "sagemaker:CreateProcessingJob",
          "sagemaker:CreateTrainingJob",
          "sagemaker:DescribeModelPackage",
          "sagemaker:DescribeModelPackageGroup",
          "sagemaker:DescribeProcessingJob",
          "sagemaker:DescribeTrainingJob",
          "sagemaker:ListTags",
          "sagemaker:StartPipelineExecution",
          "sagemaker:StopProcessingJob",
          "sagemaker:StopTrainingJob",
        ]
        Resource = "${local.sagemaker_arn_prefix}:*"
      },
      {
        Sid       = "PassWorkloadRolesToSageMaker"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = local.workload_role_arns
        Condition = { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
      },
    ]
  })
}

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

# Whatever a bucket policy or bucket-level block says, nothing in this account
# is public. The deploy role is denied s3:PutAccountPublicAccessBlock.
resource "aws_s3_account_public_access_block" "this" {
  account_id              = var.account_id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_iam_policy" "boundary" {
  name        = var.boundary_policy_name
  description = "Permissions boundary for the ${var.environment} workload roles of ${var.name}."
  policy      = local.boundary_policy
}

module "deploy_role" {
  source = "../github-oidc-role"

  role_name         = var.deploy_role_name
  description       = "Deploys ${var.name} to ${var.environment} from GitHub Actions."
  oidc_provider_arn = aws_iam_openid_connect_provider.github.arn
  subjects          = var.deploy_subjects
  policy            = local.deploy_policy
  # promote --wait follows a training run; the promote workflow asks for sessions this long.
  max_session_duration = 10800
}

module "plan_role" {
  source = "../github-oidc-role"

  role_name         = var.plan_role_name
  description       = "Plans ${var.name} in ${var.environment} from GitHub Actions (read-only)."
  oidc_provider_arn = aws_iam_openid_connect_provider.github.arn
  subjects          = var.plan_subjects
  policy            = local.plan_policy
}
