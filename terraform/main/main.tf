# One environment (one workspace per environment): the ML bucket, the
# SageMaker execution role, the model registry group, the optional retraining
# schedule, the optional Studio domain and, for a provisioned endpoint, its
# rollback alarms. The pipeline and the endpoint are created by the tasks; their
# names are derived here so the schedule, roles and alarms can target them.
# Every role created here carries the permissions boundary from the
# operations stack and lives on the IAM path "/<name>-workload/", the only
# roles the deploy role may manage and pass. Nothing here is billed per hour
# at rest.

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition

  # Must match the path the environment-access module scopes the deploy role to.
  workload_role_path = "/${var.name}-workload/"

  bucket_arn          = "arn:${local.partition}:s3:::${var.bucket_name}"
  execution_role_arn  = "arn:${local.partition}:iam::${var.account_id}:role${local.workload_role_path}${var.execution_role_name}"
  sagemaker_arn       = "arn:${local.partition}:sagemaker:${var.region}:${var.account_id}"
  model_package_group = lower(var.model_package_group_name)

  # SageMaker lowercases names in ARNs.
  pipeline_arn = "${local.sagemaker_arn}:pipeline/${lower(var.pipeline_name)}"

  schedule_name = coalesce(var.retraining.schedule_name, var.pipeline_name)

  # The endpoint `deno task serve` creates (not managed here; see the alarms below).
  endpoint_name = "${var.name}-${var.environment}"

  execution_role_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "SageMaker"
        Effect    = "Allow"
        Principal = { Service = "sagemaker.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })

  execution_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "MlBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
        Resource = local.bucket_arn
      },
      {
        Sid    = "MlBucketObjects"
        Effect = "Allow"
        Action = [
          "s3:AbortMultipartUpload",
          "s3:DeleteObject",
          "s3:GetObject",
          "s3:PutObject",
        ]
        Resource = "${local.bucket_arn}/*"
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
        Sid    = "Logs"
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
        # Pipeline steps start and watch jobs with this role.
        Sid    = "PipelineJobs"
        Effect = "Allow"
        Action = [
          "sagemaker:AddTags",
          "sagemaker:CreateProcessingJob",
          "sagemaker:CreateTrainingJob",
          "sagemaker:DescribeProcessingJob",
          "sagemaker:DescribeTrainingJob",
          "sagemaker:ListTags",
          "sagemaker:StopProcessingJob",
          "sagemaker:StopTrainingJob",
        ]
        Resource = [
          "${local.sagemaker_arn}:processing-job/*",
          "${local.sagemaker_arn}:training-job/*",
        ]
      },
      {
        # The register step adds model versions to this environment's group.
        Sid    = "ModelRegistry"
        Effect = "Allow"
        Action = [
          "sagemaker:AddTags",
          "sagemaker:CreateModelPackage",
          "sagemaker:DescribeModelPackage",
          "sagemaker:DescribeModelPackageGroup",
          "sagemaker:ListTags",
        ]
        Resource = [
          "${local.sagemaker_arn}:model-package-group/${local.model_package_group}",
          "${local.sagemaker_arn}:model-package/${local.model_package_group}/*",
        ]
      },
      {
        # Pipelines hand this same role to the jobs they start.
        Sid       = "PassSelfToSageMaker"
        Effect    = "Allow"
        Action    = "iam:PassRole"
        Resource  = local.execution_role_arn
        Condition = { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
      },
    ]
  })

  scheduler_role_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeScheduler"
        Effect    = "Allow"
        Principal = { Service = "scheduler.amazonaws.com" }
        Action    = "sts:AssumeRole"
        Condition = { StringEquals = { "aws:SourceAccount" = var.account_id } }
      },
    ]
  })

  scheduler_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "StartThePipeline"
        Effect   = "Allow"
        Action   = "sagemaker:StartPipelineExecution"
        Resource = local.pipeline_arn
      },
    ]
  })
}

################################################################################
# ML bucket
################################################################################

module "bucket" {
  source = "../modules/hardened-bucket"

  bucket_name = var.bucket_name
}

################################################################################
# SageMaker execution role and model registry
################################################################################

resource "aws_iam_role" "execution" {
  name                 = var.execution_role_name
  path                 = local.workload_role_path
  description          = "SageMaker execution role of the ${var.name} ${var.environment} pipeline."
  assume_role_policy   = local.execution_role_trust
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy" "execution" {
  name   = var.execution_role_name
  role   = aws_iam_role.execution.id
  policy = local.execution_role_policy
}

resource "aws_sagemaker_model_package_group" "this" {
  model_package_group_name        = var.model_package_group_name
  model_package_group_description = "Models trained by the ${var.name} pipeline in ${var.environment}."
}

################################################################################
# Scheduled retraining (only when enabled)
################################################################################

resource "aws_iam_role" "scheduler" {
  count = var.retraining.enabled ? 1 : 0

  name                 = var.retraining.scheduler_role_name
  path                 = local.workload_role_path
  description          = "Lets EventBridge Scheduler start the ${var.name} ${var.environment} pipeline."
  assume_role_policy   = local.scheduler_role_trust
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy" "scheduler" {
  count = var.retraining.enabled ? 1 : 0

  name   = var.retraining.scheduler_role_name
  role   = aws_iam_role.scheduler[0].id
  policy = local.scheduler_role_policy
}

resource "aws_scheduler_schedule" "retraining" {
  count = var.retraining.enabled ? 1 : 0

  name                = local.schedule_name
  group_name          = "default"
  description         = "Retrains the ${var.name} ${var.environment} model."
  schedule_expression = var.retraining.schedule_expression
  state               = "ENABLED"

  flexible_time_window {
    mode = "OFF"
  }

  # Templated SageMaker target: the pipeline ARN itself. Scheduler calls
  # StartPipelineExecution with a fresh idempotency token on every run (a
  # universal aws-sdk target would need a fixed ClientRequestToken in its
  # static input, making every run after the first a no-op).
  target {
    arn      = local.pipeline_arn
    role_arn = aws_iam_role.scheduler[0].arn

    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 3
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

################################################################################
# Rollback alarms of a provisioned endpoint (only when serving.provisioned)
################################################################################

# `deno task serve` names the environment's endpoint "<name>-<env>" and, for a
# provisioned endpoint, updates it blue/green with these two alarms as the
# automatic rollback triggers (lib/serving/endpoint.ts, rollbackAlarms). A
# serverless endpoint (the default) needs none: nothing runs at rest.
resource "aws_cloudwatch_metric_alarm" "endpoint" {
  for_each = var.serving.provisioned ? {
    "5xx" = {
      metric      = "Invocation5XXErrors"
      statistic   = "Sum"
      threshold   = 0
      description = "any 5xx answer from the new fleet"
    }
    latency = {
      metric      = "ModelLatency"
      statistic   = "Average"
      threshold   = var.serving.latency_threshold_ms * 1000 # ModelLatency is in microseconds
      description = "average model latency above ${var.serving.latency_threshold_ms} ms"
    }
  } : {}

  alarm_name          = "${local.endpoint_name}-${each.key}"
  alarm_description   = "Rolls a blue/green update of ${local.endpoint_name} back: ${each.value.description}."
  namespace           = "AWS/SageMaker"
  metric_name         = each.value.metric
  dimensions          = { EndpointName = local.endpoint_name, VariantName = "AllTraffic" }
  statistic           = each.value.statistic
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}

################################################################################
# Optional SageMaker Studio domain (off by default)
################################################################################

module "studio" {
  source = "../modules/studio-domain"
  count  = var.studio.enabled ? 1 : 0

  domain_name        = coalesce(var.studio.domain_name, "${var.name}-${var.environment}")
  execution_role_arn = aws_iam_role.execution.arn
  vpc_cidr           = var.studio.vpc_cidr
}
