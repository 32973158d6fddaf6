# Offline tests of the per-environment stack. The base values come from the
# example var file that the offline plan uses too (prod, retraining on);
# runs change what they test. AWS is mocked.
#   TF_CLI_CONFIG_FILE=<mirror.tfrc> terraform init -backend=false && terraform test

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }

  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
}

# Realistic values where assertions compare against them (mocks return random strings).
override_resource {
  target = aws_iam_role.execution
  values = { arn = "arn:aws:iam::444444444444:role/mlops-workload/mlops-prod-sagemaker-execution" }
}

override_resource {
  target = aws_iam_role.scheduler
  values = { arn = "arn:aws:iam::444444444444:role/mlops-workload/mlops-prod-scheduler" }
}

override_resource {
  target = module.bucket.aws_s3_bucket.this
  values = { arn = "arn:aws:s3:::mlops-ml-prod-444444444444" }
}

variables {
  name                     = jsondecode(file("tests/example.tfvars.json")).name
  region                   = jsondecode(file("tests/example.tfvars.json")).region
  tags                     = jsondecode(file("tests/example.tfvars.json")).tags
  environment              = jsondecode(file("tests/example.tfvars.json")).environment
  account_id               = jsondecode(file("tests/example.tfvars.json")).account_id
  operations_account_id    = jsondecode(file("tests/example.tfvars.json")).operations_account_id
  ecr_repository_arn       = jsondecode(file("tests/example.tfvars.json")).ecr_repository_arn
  bucket_name              = jsondecode(file("tests/example.tfvars.json")).bucket_name
  execution_role_name      = jsondecode(file("tests/example.tfvars.json")).execution_role_name
  permissions_boundary_arn = jsondecode(file("tests/example.tfvars.json")).permissions_boundary_arn
  model_package_group_name = jsondecode(file("tests/example.tfvars.json")).model_package_group_name
  pipeline_name            = jsondecode(file("tests/example.tfvars.json")).pipeline_name
  retraining               = jsondecode(file("tests/example.tfvars.json")).retraining
  studio                   = jsondecode(file("tests/example.tfvars.json")).studio
}

run "ml_bucket_is_hardened" {
  command = apply

  assert {
    condition = (
      module.bucket.s3_bucket_versioning_status == "Enabled"
      && module.bucket.s3_bucket_sse_algorithm == "AES256"
      && alltrue(values(module.bucket.s3_bucket_public_access_block))
      && module.bucket.s3_bucket_object_ownership == "BucketOwnerEnforced"
      && module.bucket.s3_bucket_force_destroy == false
    )
    error_message = "The ML bucket must be versioned, encrypted, private, ACL-free and never force-destroyed."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(module.bucket.s3_bucket_policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*"
      && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      && toset(flatten([s.Resource])) == toset(["arn:aws:s3:::mlops-ml-prod-444444444444", "arn:aws:s3:::mlops-ml-prod-444444444444/*"])
    ])
    error_message = "The ML bucket policy must deny every request without TLS."
  }
}

run "execution_role_is_scoped" {
  command = apply

  assert {
    condition = jsondecode(aws_iam_role.execution.assume_role_policy).Statement == [{
      Sid       = "SageMaker"
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "444444444444" } }
    }]
    error_message = "Only SageMaker, on behalf of this account, may assume the execution role."
  }

  # Every S3 grant of the execution role is the ML bucket or its objects.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : [
        for r in flatten([s.Resource]) :
        contains(["arn:aws:s3:::mlops-ml-prod-444444444444", "arn:aws:s3:::mlops-ml-prod-444444444444/*"], r)
      ] if anytrue([for a in flatten([s.Action]) : startswith(a, "s3:")])
    ])) && length([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s if anytrue([for a in flatten([s.Action]) : startswith(a, "s3:")])]) == 2
    error_message = "The execution role's S3 access must be limited to its own bucket and the bucket's objects."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
      s.Resource == "arn:aws:ecr:eu-west-1:111111111111:repository/mlops-training"
      if anytrue([for a in flatten([s.Action]) : startswith(a, "ecr:") && a != "ecr:GetAuthorizationToken"])
    ])
    error_message = "The execution role may pull only from the project's image repository."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s
      if contains(flatten([s.Action]), "iam:PassRole")
      ]) == {
      Sid       = "PassSelfToSageMaker"
      Effect    = "Allow"
      Action    = "iam:PassRole"
      Resource  = "arn:aws:iam::444444444444:role/mlops-workload/mlops-prod-sagemaker-execution"
      Condition = { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
    }
    error_message = "The execution role may pass only itself (its ARN includes the workload path), only to SageMaker."
  }

  # The deploy role may manage and pass roles on this path only (environment-access module).
  assert {
    condition = (
      aws_iam_role.execution.path == "/mlops-workload/"
      && aws_iam_role.scheduler[0].path == "/mlops-workload/"
    )
    error_message = "Every role of this stack must be on the IAM path \"/<name>-workload/\"."
  }

  assert {
    condition = !anytrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
      s.Effect == "Allow" && (can(s.NotAction) || contains(flatten([s.Action]), "*") || anytrue([for a in flatten([s.Action]) : endswith(a, ":*")]))
    ])
    error_message = "The execution role must not be granted whole services (AdministratorAccess-like)."
  }

  assert {
    condition = (
      aws_iam_role.execution.permissions_boundary == "arn:aws:iam::444444444444:policy/mlops-prod-boundary"
      && aws_iam_role.scheduler[0].permissions_boundary == "arn:aws:iam::444444444444:policy/mlops-prod-boundary"
    )
    error_message = "Every role of this stack must carry the permissions boundary."
  }
}

run "schedule_exists_where_retraining_is_enabled" {
  command = apply

  assert {
    condition = (
      length(aws_scheduler_schedule.retraining) == 1
      && aws_scheduler_schedule.retraining[0].state == "ENABLED"
      && aws_scheduler_schedule.retraining[0].schedule_expression == "cron(0 3 ? * MON *)"
      && output.schedule_name == "mlops-prod-training"
    )
    error_message = "An enabled retraining must create an enabled schedule with the configured expression."
  }

  assert {
    condition = (
      aws_scheduler_schedule.retraining[0].target[0].arn == "arn:aws:sagemaker:eu-west-1:444444444444:pipeline/mlops-prod-training"
      && aws_scheduler_schedule.retraining[0].target[0].role_arn == aws_iam_role.scheduler[0].arn
    )
    error_message = "The schedule must start the configured pipeline with the scheduler role."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.scheduler[0].policy).Statement == [{
      Sid      = "StartThePipeline"
      Effect   = "Allow"
      Action   = "sagemaker:StartPipelineExecution"
      Resource = "arn:aws:sagemaker:eu-west-1:444444444444:pipeline/mlops-prod-training"
    }]
    error_message = "The scheduler role may only start this pipeline."
  }

  assert {
    condition     = jsondecode(aws_iam_role.scheduler[0].assume_role_policy).Statement[0].Principal == { Service = "scheduler.amazonaws.com" }
    error_message = "Only EventBridge Scheduler may assume the scheduler role."
  }

  assert {
    condition     = length(module.studio) == 0 && output.studio_domain_id == null
    error_message = "Studio must be off unless studio.enabled."
  }
}

run "no_schedule_where_retraining_is_disabled" {
  command = apply

  variables {
    environment              = "dev"
    account_id               = "222222222222"
    bucket_name              = "mlops-ml-dev-222222222222"
    execution_role_name      = "mlops-dev-sagemaker-execution"
    permissions_boundary_arn = "arn:aws:iam::222222222222:policy/mlops-dev-boundary"
    model_package_group_name = "mlops-dev-models"
    pipeline_name            = "mlops-dev-training"
    retraining = {
      enabled             = false
      schedule_expression = ""
      scheduler_role_name = "mlops-dev-scheduler"
    }
  }

  assert {
    condition = (
      length(aws_scheduler_schedule.retraining) == 0
      && length(aws_iam_role.scheduler) == 0
      && output.schedule_name == null
      && output.scheduler_role_arn == null
    )
    error_message = "Disabled retraining must create neither a schedule nor a scheduler role."
  }
}

run "studio_is_opt_in_and_has_no_nat" {
  command = apply

  variables {
    studio = { enabled = true }
  }

  assert {
    condition = (
      length(module.studio) == 1
      && module.studio[0].app_network_access_type == "PublicInternetOnly"
      && length(module.studio[0].subnet_ids) == 2
    )
    error_message = "An enabled Studio domain must use the SageMaker-managed internet path (no NAT gateway in its VPC)."
  }
}

# SageMaker hosting runs the image with the execution role: it pulls the image,
# reads the model archive from the bucket, writes /aws/sagemaker/Endpoints/* logs
# and metrics. The role already has exactly that; pin it.
run "execution_role_can_host_the_model" {
  command = apply

  assert {
    condition = alltrue([
      for needed in [
        { action = "s3:GetObject", resource = "arn:aws:s3:::mlops-ml-prod-444444444444/*" },
        { action = "ecr:BatchGetImage", resource = "arn:aws:ecr:eu-west-1:111111111111:repository/mlops-training" },
        { action = "logs:PutLogEvents", resource = "arn:aws:logs:eu-west-1:444444444444:log-group:/aws/sagemaker/*" },
        { action = "cloudwatch:PutMetricData", resource = "*" },
        ] : anytrue([
          for s in jsondecode(aws_iam_role_policy.execution.policy).Statement :
          s.Effect == "Allow" && contains(flatten([s.Action]), needed.action) && contains(flatten([s.Resource]), needed.resource)
      ])
    ])
    error_message = "The execution role must be able to pull the image, read the model, and write endpoint logs and metrics."
  }
}

run "serverless_endpoints_need_no_alarms" {
  command = apply

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.endpoint) == 0 && length(output.endpoint_alarm_names) == 0 && output.endpoint_name == "mlops-prod"
    error_message = "A serverless endpoint (the default) gets no alarms; the endpoint is named <name>-<env>."
  }
}

run "provisioned_endpoints_get_rollback_alarms" {
  command = apply

  variables {
    serving = { provisioned = true, latency_threshold_ms = 500 }
  }

  assert {
    condition     = output.endpoint_alarm_names == tolist(["mlops-prod-5xx", "mlops-prod-latency"])
    error_message = "A provisioned endpoint gets the two alarms serve names as rollback triggers."
  }

  assert {
    condition = alltrue([
      for a in aws_cloudwatch_metric_alarm.endpoint :
      a.namespace == "AWS/SageMaker" && a.dimensions == tomap({ EndpointName = "mlops-prod", VariantName = "AllTraffic" })
      && a.treat_missing_data == "notBreaching" && a.comparison_operator == "GreaterThanThreshold"
    ])
    error_message = "The alarms watch the endpoint's AllTraffic variant and stay quiet without traffic."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.endpoint["5xx"].metric_name == "Invocation5XXErrors"
      && aws_cloudwatch_metric_alarm.endpoint["5xx"].threshold == 0
      && aws_cloudwatch_metric_alarm.endpoint["latency"].metric_name == "ModelLatency"
      && aws_cloudwatch_metric_alarm.endpoint["latency"].threshold == 500000
    )
    error_message = "Any 5xx, or an average model latency above the threshold (in microseconds), rolls back."
  }
}

run "rejects_a_latency_threshold_above_the_invocation_timeout" {
  command = plan

  variables {
    serving = { provisioned = true, latency_threshold_ms = 120000 }
  }

  expect_failures = [var.serving]
}

run "rejects_a_malformed_account_id" {
  command = plan

  variables {
    account_id = "44444444444a"
  }

  expect_failures = [var.account_id]
}

run "rejects_an_unknown_environment_name" {
  command = plan

  variables {
    environment = "production"
  }

  expect_failures = [var.environment]
}

run "rejects_a_boundary_of_another_account" {
  command = plan

  variables {
    permissions_boundary_arn = "arn:aws:iam::222222222222:policy/mlops-dev-boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "rejects_an_image_repository_in_another_region" {
  command = plan

  variables {
    ecr_repository_arn = "arn:aws:ecr:us-east-1:111111111111:repository/mlops-training"
  }

  expect_failures = [var.ecr_repository_arn]
}

run "rejects_a_bucket_outside_the_project_prefix" {
  command = plan

  variables {
    bucket_name = "someone-elses-bucket"
  }

  expect_failures = [var.bucket_name]
}
