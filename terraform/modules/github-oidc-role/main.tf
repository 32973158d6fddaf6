# An IAM role that GitHub Actions assumes with its OIDC token. The trust policy
# requires BOTH the audience and the exact subject with StringEquals, so only
# the named repository contexts (branch, tag, environment, pull request) can
# assume it; StringLike and wildcards are never used.

locals {
  oidc_host = "token.actions.githubusercontent.com"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "GitHubActionsOidc"
        Effect    = "Allow"
        Principal = { Federated = var.oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.oidc_host}:aud" = "sts.amazonaws.com"
            "${local.oidc_host}:sub" = var.subjects
          }
        }
      },
    ]
  })
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = var.description
  assume_role_policy   = local.assume_role_policy
  max_session_duration = var.max_session_duration
}

resource "aws_iam_role_policy" "this" {
  name   = var.role_name
  role   = aws_iam_role.this.id
  policy = var.policy
}
