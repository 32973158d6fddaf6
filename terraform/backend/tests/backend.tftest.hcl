# Offline tests of the state bucket stack: every value comes from the example
# var file that the offline plan uses too; AWS is mocked.
#   TF_CLI_CONFIG_FILE=<mirror.tfrc> terraform init -backend=false && terraform test

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

variables {
  name                  = jsondecode(file("tests/example.tfvars.json")).name
  region                = jsondecode(file("tests/example.tfvars.json")).region
  tags                  = jsondecode(file("tests/example.tfvars.json")).tags
  operations_account_id = jsondecode(file("tests/example.tfvars.json")).operations_account_id
  state_bucket_name     = jsondecode(file("tests/example.tfvars.json")).state_bucket_name
  environments          = jsondecode(file("tests/example.tfvars.json")).environments
}

run "state_bucket_is_hardened" {
  command = apply

  assert {
    condition     = module.state_bucket.s3_bucket_versioning_status == "Enabled"
    error_message = "The state bucket must be versioned."
  }

  assert {
    condition     = module.state_bucket.s3_bucket_sse_algorithm == "AES256"
    error_message = "The state bucket must have default encryption (AES256, usable across accounts)."
  }

  assert {
    condition     = alltrue(values(module.state_bucket.s3_bucket_public_access_block))
    error_message = "All four public access block settings must be true."
  }

  assert {
    condition     = module.state_bucket.s3_bucket_object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition     = module.state_bucket.s3_bucket_force_destroy == false
    error_message = "The state bucket must never be force-destroyed."
  }

  assert {
    condition     = module.state_bucket.s3_bucket_noncurrent_version_expiration_days == 90
    error_message = "Noncurrent state versions must expire after the configured 90 days."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*"
      && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      && toset(flatten([s.Resource])) == toset(["arn:aws:s3:::mlops-tfstate-111111111111", "arn:aws:s3:::mlops-tfstate-111111111111/*"])
    ])
    error_message = "The bucket policy must deny every request without TLS, on the bucket and its objects."
  }

  assert {
    condition = !anytrue([
      for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
      s.Effect == "Allow" && (s.Principal == "*" || try(s.Principal.AWS, "") == "*")
    ])
    error_message = "No Allow statement may have a public principal."
  }

  assert {
    condition     = output.state_bucket_name == "mlops-tfstate-111111111111"
    error_message = "The state_bucket_name output must be the bucket's name."
  }
}

run "each_environment_reaches_only_its_state_prefix" {
  command = apply

  # Every statement naming an environment account grants objects under that
  # environment's prefix only, and lists only that prefix.
  assert {
    condition = alltrue(flatten([
      for env, e in var.environments : [
        for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
        s.Action == "s3:ListBucket"
        ? s.Resource == "arn:aws:s3:::mlops-tfstate-111111111111" && try(s.Condition.StringLike["s3:prefix"], []) == [e.state_prefix, "${e.state_prefix}*"]
        : s.Resource == "arn:aws:s3:::mlops-tfstate-111111111111/${e.state_prefix}*"
        if try(s.Principal.AWS, "") == "arn:aws:iam::${e.account_id}:root"
      ]
    ]))
    error_message = "An environment account can reach state outside its own prefix."
  }

  # The principal is the account root, narrowed to the roles by ArnEquals on
  # aws:PrincipalArn (the roles may not exist at bootstrap).
  assert {
    condition = alltrue([
      for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
      can(s.Condition.ArnEquals["aws:PrincipalArn"]) && endswith(try(s.Principal.AWS, ""), ":root")
      if s.Effect == "Allow"
    ])
    error_message = "Every grant must name an account root and narrow it with ArnEquals on aws:PrincipalArn."
  }

  assert {
    condition = one([
      for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement : s
      if s.Sid == "DevDeployState"
      ]) == {
      Sid       = "DevDeployState"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::222222222222:root" }
      Action    = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      Resource  = "arn:aws:s3:::mlops-tfstate-111111111111/main/dev/*"
      Condition = { ArnEquals = { "aws:PrincipalArn" = "arn:aws:iam::222222222222:role/mlops-dev-deploy" } }
    }
    error_message = "The dev deploy role must get read/write on exactly main/dev/*."
  }

  assert {
    condition = alltrue([
      for env, e in var.environments : anytrue([
        for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
        s.Action == "s3:GetObject"
        && try(s.Condition.ArnEquals["aws:PrincipalArn"], "") == "arn:aws:iam::${e.account_id}:role/${e.plan_role_name}"
      ])
    ])
    error_message = "Every plan role must be able to read its state."
  }

  assert {
    condition = !anytrue(flatten([
      for env, e in var.environments : [
        for s in jsondecode(module.state_bucket.s3_bucket_policy).Statement :
        contains(flatten([s.Action]), "s3:PutObject") || contains(flatten([s.Action]), "s3:DeleteObject")
        if try(s.Condition.ArnEquals["aws:PrincipalArn"], "") == "arn:aws:iam::${e.account_id}:role/${e.plan_role_name}"
      ]
    ]))
    error_message = "A plan role must never write or delete state."
  }
}

run "rejects_a_malformed_operations_account_id" {
  command = plan

  variables {
    operations_account_id = "11111111111"
  }

  expect_failures = [var.operations_account_id]
}

run "rejects_an_unknown_environment_name" {
  command = plan

  variables {
    environments = {
      dev     = var.environments.dev
      staging = var.environments.staging
      qa      = var.environments.prod
    }
  }

  expect_failures = [var.environments]
}

run "rejects_a_malformed_environment_account_id" {
  command = plan

  variables {
    environments = merge(var.environments, {
      prod = merge(var.environments.prod, { account_id = "4444-4444-4444" })
    })
  }

  expect_failures = [var.environments]
}

run "rejects_overlapping_state_prefixes" {
  command = plan

  variables {
    environments = merge(var.environments, {
      staging = merge(var.environments.staging, { state_prefix = "main/" })
    })
  }

  expect_failures = [var.environments]
}

run "rejects_a_malformed_region" {
  command = plan

  variables {
    region = "Europe"
  }

  expect_failures = [var.region]
}

run "access_logs_are_off_unless_configured" {
  command = plan

  assert {
    condition     = length(module.access_logs_bucket) == 0 && module.state_bucket.s3_bucket_access_log_target == null
    error_message = "Without access_logs there must be no log bucket and no logging on the state bucket."
  }
}

run "access_logs_go_to_a_hardened_bucket_only_s3_logging_may_write" {
  command = plan

  variables {
    access_logs = {
      bucket_name         = "mlops-access-logs-111111111111"
      retention_days      = 365
      source_bucket_names = ["mlops-tfstate-111111111111", "mlops-promotions-111111111111"]
    }
  }

  assert {
    condition = module.state_bucket.s3_bucket_access_log_target == {
      bucket = "mlops-access-logs-111111111111"
      prefix = "mlops-tfstate-111111111111/"
    }
    error_message = "The state bucket must log into the log bucket under its own name."
  }

  assert {
    condition = (
      module.access_logs_bucket[0].s3_bucket_sse_algorithm == "AES256"
      && module.access_logs_bucket[0].s3_bucket_versioning_status == "Enabled"
      && alltrue(values(module.access_logs_bucket[0].s3_bucket_public_access_block))
      && module.access_logs_bucket[0].s3_bucket_current_version_expiration_days == 365
    )
    error_message = "The log bucket must be hardened like every bucket, S3-encrypted (log delivery needs it) and expire logs after retention_days."
  }

  assert {
    condition = [
      for s in jsondecode(module.access_logs_bucket[0].s3_bucket_policy).Statement : s if s.Effect == "Allow"
      ] == [{
        Sid       = "S3ServerAccessLogDelivery"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "arn:aws:s3:::mlops-access-logs-111111111111/*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = "111111111111" }
          ArnLike      = { "aws:SourceArn" = ["arn:aws:s3:::mlops-tfstate-111111111111", "arn:aws:s3:::mlops-promotions-111111111111"] }
        }
    }]
    error_message = "Only the S3 logging service may write logs, only for this account's named buckets; nobody else is granted anything."
  }
}

run "rejects_a_log_bucket_that_logs_into_itself" {
  command = plan

  variables {
    access_logs = {
      bucket_name         = "mlops-access-logs-111111111111"
      retention_days      = 365
      source_bucket_names = ["mlops-access-logs-111111111111"]
    }
  }

  expect_failures = [var.access_logs]
}
