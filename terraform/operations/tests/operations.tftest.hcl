# Offline tests of the operations stack: the registry, the GitHub OIDC roles
# of all four accounts and the promotion records bucket. Every value comes from
# the example var file that the offline plan uses too; AWS is mocked.
#   TF_CLI_CONFIG_FILE=<mirror.tfrc> terraform init -backend=false && terraform test

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

mock_provider "aws" {
  alias = "dev"
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

mock_provider "aws" {
  alias = "staging"
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

mock_provider "aws" {
  alias = "prod"
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

# Realistic ARNs where assertions compare against them (mocks return random strings).
override_resource {
  target = aws_ecr_repository.this
  values = {
    arn            = "arn:aws:ecr:eu-west-1:111111111111:repository/mlops-training"
    repository_url = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/mlops-training"
  }
}

override_resource {
  target = aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target = module.dev.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target = module.staging.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::333333333333:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target = module.prod.aws_iam_openid_connect_provider.github
  values = { arn = "arn:aws:iam::444444444444:oidc-provider/token.actions.githubusercontent.com" }
}

variables {
  name                  = jsondecode(file("tests/example.tfvars.json")).name
  region                = jsondecode(file("tests/example.tfvars.json")).region
  tags                  = jsondecode(file("tests/example.tfvars.json")).tags
  operations_account_id = jsondecode(file("tests/example.tfvars.json")).operations_account_id
  github_repository     = jsondecode(file("tests/example.tfvars.json")).github_repository
  build_subjects        = jsondecode(file("tests/example.tfvars.json")).build_subjects
  build_role_name       = jsondecode(file("tests/example.tfvars.json")).build_role_name
  ecr_repository_name   = jsondecode(file("tests/example.tfvars.json")).ecr_repository_name
  state_bucket_name     = jsondecode(file("tests/example.tfvars.json")).state_bucket_name
  records_bucket_name   = jsondecode(file("tests/example.tfvars.json")).records_bucket_name
  environments          = jsondecode(file("tests/example.tfvars.json")).environments
}

run "registry_is_immutable_scanned_and_pull_only_for_environments" {
  command = apply

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "Image tags must be immutable."
  }

  assert {
    condition     = aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push == true
    error_message = "Images must be scanned on push."
  }

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules[0] == {
      rulePriority = 1
      description  = "Expire untagged images after 14 days"
      selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 14 }
      action       = { type = "expire" }
    }
    error_message = "Untagged images must expire after untagged_image_expiry_days."
  }

  assert {
    condition = jsondecode(aws_ecr_repository_policy.this.policy).Statement == [{
      Sid       = "EnvironmentAccountsPull"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::222222222222:root", "arn:aws:iam::333333333333:root", "arn:aws:iam::444444444444:root"] }
      Action    = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer"]
    }]
    error_message = "Only the three environment accounts may pull (and resolve tags to digests), nothing more."
  }
}

run "github_oidc_roles_trust_exact_subjects_and_audience" {
  command = apply

  assert {
    condition = alltrue([
      for client_ids in [
        aws_iam_openid_connect_provider.github.client_id_list,
        module.dev.oidc_provider_client_id_list,
        module.staging.oidc_provider_client_id_list,
        module.prod.oidc_provider_client_id_list,
      ] : tolist(client_ids) == tolist(["sts.amazonaws.com"])
    ]) && aws_iam_openid_connect_provider.github.url == "https://token.actions.githubusercontent.com"
    error_message = "Every account's OIDC provider must trust GitHub Actions for the sts.amazonaws.com audience only."
  }

  assert {
    condition = jsondecode(module.build_role.iam_role_assume_role_policy).Statement == [{
      Sid       = "GitHubActionsOidc"
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = ["repo:acme/ml:ref:refs/heads/main"]
        }
      }
    }]
    error_message = "The build role must trust exactly the build subjects and the sts.amazonaws.com audience, with StringEquals."
  }

  # Deploy and plan roles of every environment: one statement, the
  # environment account's own provider, StringEquals on aud AND the exact subs.
  assert {
    condition = alltrue(flatten([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } : [
        for role in [
          { statements = jsondecode(m.deploy_role_assume_role_policy).Statement, subjects = var.environments[env].deploy_subjects },
          { statements = jsondecode(m.plan_role_assume_role_policy).Statement, subjects = var.environments[env].plan_subjects },
          ] : (
          length(role.statements) == 1
          && role.statements[0].Effect == "Allow"
          && role.statements[0].Action == "sts:AssumeRoleWithWebIdentity"
          && role.statements[0].Principal == { Federated = "arn:aws:iam::${var.environments[env].account_id}:oidc-provider/token.actions.githubusercontent.com" }
          && keys(role.statements[0].Condition) == ["StringEquals"]
          && role.statements[0].Condition.StringEquals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
          && tolist(role.statements[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]) == tolist(role.subjects)
        )
      ]
    ]))
    error_message = "Every deploy and plan role must trust its own account's provider with StringEquals on aud and the exact subjects."
  }

  assert {
    condition     = jsondecode(module.prod.deploy_role_assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == ["repo:acme/ml:environment:prod"]
    error_message = "The prod deploy role must trust only the prod environment subject."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.build_role.iam_role_policy).Statement :
      s.Action == "ecr:GetAuthorizationToken" ? s.Resource == "*" : s.Resource == "arn:aws:ecr:eu-west-1:111111111111:repository/mlops-training"
    ])
    error_message = "The build role may push to the project repository only (GetAuthorizationToken is the only action on *)."
  }
}

run "environment_roles_are_least_privilege" {
  command = apply

  # No AdministratorAccess-like grant anywhere: no Allow of "*", of a whole
  # service's IAM, or of NotAction.
  assert {
    condition = !anytrue(flatten([
      for policy in [
        module.build_role.iam_role_policy,
        module.dev.deploy_role_policy, module.dev.plan_role_policy, module.dev.boundary_policy,
        module.staging.deploy_role_policy, module.staging.plan_role_policy, module.staging.boundary_policy,
        module.prod.deploy_role_policy, module.prod.plan_role_policy, module.prod.boundary_policy,
        ] : [
        for s in jsondecode(policy).Statement :
        s.Effect == "Allow" && (can(s.NotAction) || contains(flatten([try(s.Action, [])]), "*") || contains(flatten([try(s.Action, [])]), "iam:*"))
      ]
    ]))
    error_message = "No policy may allow \"*\", \"iam:*\" or NotAction (AdministratorAccess-like)."
  }

  # promote resolves the commit's image digest: DescribeImages on the one repository, nothing more of ECR.
  assert {
    condition = alltrue([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.deploy_role_policy).Statement : s if can(regex("^ecr:", try(s.Action, "")))
      ] == [{ Sid = "ImageLookup", Effect = "Allow", Action = "ecr:DescribeImages", Resource = aws_ecr_repository.this.arn }]
    ])
    error_message = "Deploy roles may only DescribeImages on the training repository."
  }

  # Role creation and policy writes only for roles carrying this account's boundary.
  assert {
    condition = alltrue(flatten([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } : [
        for s in jsondecode(m.deploy_role_policy).Statement :
        try(s.Condition.StringEquals["iam:PermissionsBoundary"], "") == "arn:aws:iam::${var.environments[env].account_id}:policy/${var.environments[env].boundary_policy_name}"
        if s.Effect == "Allow" && length(setintersection(flatten([s.Action]), ["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy"])) > 0
      ]
    ]))
    error_message = "The deploy role may only create or change the policies of roles that carry the permissions boundary."
  }

  assert {
    condition = alltrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.deploy_role_policy).Statement :
        toset(flatten([try(s.Condition.StringEquals["iam:PassedToService"], [])])) == toset(["sagemaker.amazonaws.com", "scheduler.amazonaws.com"])
        if s.Effect == "Allow" && contains(flatten([s.Action]), "iam:PassRole")
      ]
    ]))
    error_message = "iam:PassRole must be limited to SageMaker and EventBridge Scheduler."
  }

  assert {
    condition = alltrue([
      for m in [module.dev, module.staging, module.prod] :
      !anytrue([for s in jsondecode(m.deploy_role_policy).Statement : s.Effect == "Allow" && contains(flatten([s.Action]), "iam:DeleteRolePermissionsBoundary")])
      && anytrue([for s in jsondecode(m.deploy_role_policy).Statement : s.Effect == "Deny" && s.Action == "iam:DeleteRolePermissionsBoundary" && s.Resource == "*"])
    ])
    error_message = "The deploy role must never be able to remove a permissions boundary."
  }

  assert {
    condition = alltrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.boundary_policy).Statement : [
          for a in flatten([s.Action]) : !startswith(a, "iam:") || (a == "iam:PassRole" && try(s.Condition.StringEquals["iam:PassedToService"], "") == "sagemaker.amazonaws.com")
        ]
      ]
    ]))
    error_message = "The workload boundary may allow nothing in IAM except passing a role to SageMaker."
  }

  assert {
    condition = alltrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.plan_role_policy).Statement : [
          for a in flatten([s.Action]) : can(regex("^[a-z0-9-]+:(Get|List|Describe)", a))
        ]
      ]
    ]))
    error_message = "The plan role must be read-only (Get/List/Describe actions only)."
  }

  # Identity side of the state and records grants, per environment.
  assert {
    condition = alltrue([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } :
      one([for s in jsondecode(m.deploy_role_policy).Statement : s.Resource if s.Sid == "StateWrite"]) == "arn:aws:s3:::mlops-tfstate-111111111111/${var.environments[env].state_prefix}*"
      && one([for s in jsondecode(m.deploy_role_policy).Statement : s.Resource if s.Sid == "PromotionRecordsWrite"]) == "arn:aws:s3:::mlops-records-111111111111/promotions/${env}/*"
    ])
    error_message = "Each deploy role may write only its own state prefix and its own promotions/<env>/ records."
  }

  assert {
    condition = alltrue([
      for env, e in var.environments : [
        for s in jsondecode(module.records_bucket.s3_bucket_policy).Statement : s.Resource
        if s.Action == "s3:PutObject" && try(s.Principal.AWS, "") == "arn:aws:iam::${e.account_id}:root"
      ] == ["arn:aws:s3:::mlops-records-111111111111/promotions/${env}/*"]
    ])
    error_message = "The records bucket must let each environment write only under promotions/<env>/."
  }

  assert {
    condition     = keys(output.oidc_provider_arns) == ["dev", "operations", "prod", "staging"] && keys(output.deploy_role_arns) == ["dev", "prod", "staging"]
    error_message = "Role and provider outputs must be maps keyed by account."
  }
}

# The deploy role must not be able to leave a backdoor: no trust policy
# changes or role deletion, role creation only for the two workload roles,
# role management and PassRole only on the workload path, and no way to lift
# the account-wide S3 public access block.
run "deploy_roles_cannot_escalate_through_iam_or_s3" {
  command = apply

  assert {
    condition = alltrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for a in ["iam:UpdateAssumeRolePolicy", "iam:DeleteRole"] :
        anytrue([
          for s in jsondecode(m.deploy_role_policy).Statement :
          s.Effect == "Deny" && contains(flatten([s.Action]), a) && flatten([s.Resource]) == ["*"] && !can(s.Condition)
        ])
        && !anytrue([for s in jsondecode(m.deploy_role_policy).Statement : s.Effect == "Allow" && contains(flatten([s.Action]), a)])
      ]
    ]))
    error_message = "Every deploy role must be denied iam:UpdateAssumeRolePolicy and iam:DeleteRole on every role, unconditionally, and allowed neither."
  }

  assert {
    condition = alltrue([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } :
      sort(flatten([
        for s in jsondecode(m.deploy_role_policy).Statement : flatten([s.Resource])
        if s.Effect == "Allow" && contains(flatten([s.Action]), "iam:CreateRole")
        ])) == sort([
        "arn:aws:iam::${var.environments[env].account_id}:role/${var.name}-workload/${var.environments[env].execution_role_name}",
        "arn:aws:iam::${var.environments[env].account_id}:role/${var.name}-workload/${var.environments[env].scheduler_role_name}",
      ])
    ])
    error_message = "iam:CreateRole must be allowed for exactly the execution role and the scheduler role, on the workload path."
  }

  # No wildcard IAM action could grant CreateRole (or anything else) behind the assertions' back.
  assert {
    condition = !anytrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.deploy_role_policy).Statement : [
          for a in flatten([s.Action]) : startswith(a, "iam:") && strcontains(a, "*")
        ] if s.Effect == "Allow"
      ]
    ]))
    error_message = "The deploy role must not be allowed wildcard IAM actions."
  }

  assert {
    condition = alltrue(flatten([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } : [
        for s in jsondecode(m.deploy_role_policy).Statement : [
          for r in flatten([s.Resource]) : !strcontains(r, ":role/${var.name}-*")
        ]
      ]
    ]))
    error_message = "No deploy statement may name the roles \"role/<name>-*\" (without the workload path)."
  }

  # Every Allow with an IAM action (role management, PassRole, CreateRole) is on the workload path.
  assert {
    condition = alltrue(flatten([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } : [
        for s in jsondecode(m.deploy_role_policy).Statement : [
          for r in flatten([s.Resource]) : startswith(r, "arn:aws:iam::${var.environments[env].account_id}:role/${var.name}-workload/")
        ] if s.Effect == "Allow" && anytrue([for a in flatten([s.Action]) : startswith(a, "iam:")])
      ]
    ]))
    error_message = "The deploy role may manage and pass only roles on the IAM path \"/<name>-workload/\" of its own account."
  }

  assert {
    condition = alltrue([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } :
      m.workload_role_path == "/${var.name}-workload/"
      && [
        for s in jsondecode(m.boundary_policy).Statement : s.Resource if contains(flatten([s.Action]), "iam:PassRole")
      ] == ["arn:aws:iam::${var.environments[env].account_id}:role/${var.name}-workload/*"]
      && alltrue(flatten([
        for s in jsondecode(m.plan_role_policy).Statement : [
          for r in flatten([s.Resource]) : startswith(r, "arn:aws:iam::${var.environments[env].account_id}:role/${var.name}-workload/")
        ] if anytrue([for a in flatten([s.Action]) : startswith(a, "iam:")])
      ]))
    ])
    error_message = "The boundary's PassRole and the plan role's IAM reads must be scoped to the workload path too."
  }

  assert {
    condition = alltrue([
      for m in [module.dev, module.staging, module.prod] :
      m.account_public_access_block == {
        block_public_acls       = true
        block_public_policy     = true
        ignore_public_acls      = true
        restrict_public_buckets = true
      }
    ])
    error_message = "Every environment account must have the account-level S3 public access block with all four settings on."
  }

  assert {
    condition = alltrue([
      for m in [module.dev, module.staging, module.prod] :
      !anytrue([
        for s in jsondecode(m.deploy_role_policy).Statement :
        s.Effect == "Allow" && anytrue([for a in flatten([s.Action]) : a == "s3:PutAccountPublicAccessBlock" || a == "s3:*" || startswith(a, "s3:PutAccount")])
      ])
      && anytrue([
        for s in jsondecode(m.deploy_role_policy).Statement :
        s.Effect == "Deny" && contains(flatten([s.Action]), "s3:PutAccountPublicAccessBlock") && flatten([s.Resource]) == ["*"]
      ])
    ])
    error_message = "The deploy role must not be able to change the account's S3 public access block."
  }
}

# deno task serve: each deploy role manages only its own environment's endpoint
# "<name>-<env>", its models and endpoint configs "<name>-<env>-v…", and the
# rollback alarms named after it; no other statement grants a hosting action,
# and workload roles (the boundary) get no hosting control at all.
run "deploy_roles_serve_only_their_environment_endpoint" {
  command = apply

  assert {
    condition = alltrue([
      for env, m in { dev = module.dev, staging = module.staging, prod = module.prod } :
      one([for s in jsondecode(m.deploy_role_policy).Statement : s.Resource if s.Sid == "SageMakerHosting"]) == [
        "arn:aws:sagemaker:eu-west-1:${var.environments[env].account_id}:model/mlops-${env}-v*",
        "arn:aws:sagemaker:eu-west-1:${var.environments[env].account_id}:endpoint-config/mlops-${env}-v*",
        "arn:aws:sagemaker:eu-west-1:${var.environments[env].account_id}:endpoint/mlops-${env}",
      ]
      && one([for s in jsondecode(m.deploy_role_policy).Statement : s.Resource if s.Sid == "EndpointAlarms"]) == "arn:aws:cloudwatch:eu-west-1:${var.environments[env].account_id}:alarm:mlops-${env}-*"
    ])
    error_message = "A deploy role may manage only its environment's endpoint, models, endpoint configs and alarms, by name prefix."
  }

  assert {
    condition = alltrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.deploy_role_policy).Statement : s.Sid == "SageMakerHosting"
        if s.Effect == "Allow" && length(setintersection(flatten([s.Action]), [
          "sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig",
          "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint", "sagemaker:InvokeEndpoint",
        ])) > 0
      ]
    ]))
    error_message = "Only the SageMakerHosting statement may grant hosting actions."
  }

  assert {
    condition = !anytrue(flatten([
      for m in [module.dev, module.staging, module.prod] : [
        for s in jsondecode(m.boundary_policy).Statement : [
          for a in flatten([s.Action]) : can(regex("^sagemaker:(Create|Update|Delete)(Model|Endpoint)", a)) && a != "sagemaker:CreateModelPackage"
        ]
      ]
    ]))
    error_message = "Workload roles may not create, change or delete models or endpoints (the deploy role serves)."
  }
}

run "rejects_a_malformed_workload_role_name" {
  command = plan

  variables {
    environments = merge(var.environments, {
      dev = merge(var.environments.dev, { execution_role_name = "mlops-dev/sagemaker-execution" })
    })
  }

  expect_failures = [var.environments]
}

run "rejects_a_malformed_github_repository" {
  command = plan

  variables {
    github_repository = "acme/ml/extra"
  }

  expect_failures = [var.github_repository]
}

run "rejects_a_wildcard_build_subject" {
  command = plan

  variables {
    build_subjects = ["repo:acme/ml:*"]
  }

  expect_failures = [var.build_subjects]
}

run "rejects_a_subject_of_another_repository" {
  command = plan

  variables {
    environments = merge(var.environments, {
      prod = merge(var.environments.prod, { deploy_subjects = ["repo:evil/ml:environment:prod"] })
    })
  }

  expect_failures = [var.environments]
}

run "rejects_a_malformed_operations_account_id" {
  command = plan

  variables {
    operations_account_id = "1111111111111"
  }

  expect_failures = [var.operations_account_id]
}

run "rejects_an_unknown_environment_name" {
  command = plan

  variables {
    environments = {
      dev        = var.environments.dev
      staging    = var.environments.staging
      production = var.environments.prod
    }
  }

  expect_failures = [var.environments]
}

run "rejects_a_shared_environment_account" {
  command = plan

  variables {
    environments = merge(var.environments, {
      staging = merge(var.environments.staging, { account_id = "222222222222" })
    })
  }

  expect_failures = [var.environments]
}

run "records_bucket_logs_into_the_access_log_bucket_when_configured" {
  command = plan

  variables {
    access_logs_bucket_name = "mlops-access-logs-111111111111"
  }

  assert {
    condition = module.records_bucket.s3_bucket_access_log_target == {
      bucket = "mlops-access-logs-111111111111"
      prefix = "mlops-records-111111111111/"
    }
    error_message = "The promotion records bucket must log into the access log bucket under its own name."
  }
}
