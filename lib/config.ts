/**
 * The project's single source of truth: `mlops.config.json` at the
 * repository root, validated once into a typed {@linkcode Config}. Every name
 * derived from it (buckets, roles, repositories) is computed here and nowhere
 * else, then handed to Terraform and the pipeline.
 *
 * @example
 * ```ts
 * import { Config } from "./config.ts";
 * const config = await Config.load("mlops.config.json");
 * console.log(config.names.stateBucket);
 * ```
 * @module
 */
import { TaskError } from "./cli.ts";
import { jsonErrorOffset } from "./json_position.ts";
import type { z } from "zod";
import {
  boolean,
  type Issue,
  issuesOf,
  literal,
  nullable,
  number,
  type NumberOptions,
  object,
  record,
  show,
  string,
} from "./config_fields.ts";

import { type AccountName, type Environment, ENVIRONMENTS, isEnvironment } from "./environments.ts";

export { type AccountName, type Environment, ENVIRONMENTS, isEnvironment };

const accountId = string({
  description: "The 12-digit AWS account id.",
  pattern: /^\d{12}$/,
  expected: "a 12-digit AWS account id",
  examples: ["123456789012"],
});

const account = (role: string) =>
  object({
    id: accountId,
    profile: nullable(string({
      description:
        `AWS CLI profile for the ${role} account on a laptop (e.g. set up with \`aws configure sso\`); null to always use the environment's credentials.`,
      pattern: /^[A-Za-z0-9_.+=,@\/-]{1,64}$/,
      expected: "an AWS profile name (letters, digits and _.+=,@/-)",
    })),
  }, { description: `The ${role} account.` });

/** Serving defaults: serverless, so an environment's endpoint costs nothing at rest. */
export const SERVING_DEFAULTS = {
  variant: "serverless" as "serverless" | "provisioned",
  memorySizeInMb: 2048,
  maxConcurrency: 5,
  instanceType: "ml.m5.large",
  instanceCount: 1,
  deployOnPromote: true,
};

const servingSchema = object({
  variant: literal(["serverless", "provisioned"], {
    description:
      "serverless (billed per request, nothing at rest) or provisioned (instances billed per hour; blue/green updates with automatic rollback on a CloudWatch alarm).",
  }).default(SERVING_DEFAULTS.variant),
  memorySizeInMb: number({
    description: "Serverless: memory of the endpoint, 1024 to 6144 in steps of 1024.",
    minimum: 1024,
    maximum: 6144,
    integer: true,
  }).default(SERVING_DEFAULTS.memorySizeInMb),
  maxConcurrency: number({
    description: "Serverless: concurrent invocations at most.",
    minimum: 1,
    maximum: 200,
    integer: true,
  }).default(SERVING_DEFAULTS.maxConcurrency),
  instanceType: string({
    description: "Provisioned: the instance type.",
    pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/,
    expected: "a SageMaker instance type such as ml.m5.large",
  }).default(SERVING_DEFAULTS.instanceType),
  instanceCount: number({
    description: "Provisioned: the number of instances.",
    minimum: 1,
    maximum: 10,
    integer: true,
  }).default(SERVING_DEFAULTS.instanceCount),
  deployOnPromote: boolean({
    description:
      "Whether `promote --wait` serves the version its pipeline run registered, when that version is Approved.",
  }).default(SERVING_DEFAULTS.deployOnPromote),
}, { description: "How `deno task serve` hosts this environment's approved model." });

const environment = (env: Environment) =>
  object({
    runPipeline: boolean({ description: `Whether \`deno task promote ${env}\` starts the training pipeline.` }).default(
      true,
    ),
    modelApprovalStatus: literal(["Approved", "PendingManualApproval"], {
      description: "Approval status the pipeline gives a model version it registers.",
    }),
    promoteFrom: nullable(literal(ENVIRONMENTS, {
      description:
        `Environment whose successful promotion of the same commit and image digest is required before promoting to ${env}; null for none.`,
    })),
    requireSourcePipelineSuccess: boolean({
      description: "With promoteFrom: also require that the source environment's pipeline run succeeded.",
    }).default(true),
    buildIfMissing: boolean({
      description: "Whether promote may build the commit's image when the registry does not have it yet.",
    }).default(false),
    ci: object({
      ref: string({
        description: `The git ref GitHub Actions promotes ${env} from (exact OIDC subject, no wildcard).`,
        pattern: /^refs\/(heads|tags)\/[A-Za-z0-9._\/-]+$/,
        expected: "a full git ref such as refs/heads/main or refs/tags/prod",
      }),
      githubEnvironment: nullable(string({
        description:
          "GitHub environment the promote job runs in (required reviewers); the deploy role then trusts that environment's OIDC subject.",
        pattern: /^[A-Za-z0-9._-]{1,255}$/,
        expected: "a GitHub environment name",
      })),
    }, { description: "How CI reaches this environment." }),
    retraining: object({
      enabled: boolean({ description: "Whether the EventBridge Scheduler retraining schedule is enabled." }),
      schedule: string({
        description: "EventBridge Scheduler expression.",
        pattern: /^(cron|rate)\(.+\)$/,
        expected: "a schedule expression such as cron(0 3 ? * MON *) or rate(7 days)",
      }),
    }, { description: "Scheduled retraining of this environment's model." }),
    studio: boolean({ description: "Opt in to a SageMaker Studio domain (and its VPC, no NAT) in this environment." })
      .default(false),
    serving: servingSchema.default(() => ({ ...SERVING_DEFAULTS })),
  }, { description: `Settings of the ${env} environment.` });

/** The training hyperparameters' types and bounds; each becomes a pipeline parameter of its type. */
const hyperparameterFields = {
  max_features: {
    description: "Vocabulary size of the TF-IDF vectorizer.",
    integer: true,
    minimum: 1,
    maximum: 10_000_000,
    default: 20000,
  },
  ngram_max: { description: "Longest word n-gram.", integer: true, minimum: 1, maximum: 5, default: 2 },
  C: { description: "Inverse regularisation strength.", exclusiveMinimum: 0, default: 1 },
  seed: {
    description: "Random state of the classifier.",
    integer: true,
    minimum: 0,
    maximum: 2 ** 32 - 1,
    default: 42,
  },
} satisfies Record<string, NumberOptions & { default: number }>;

type Hyperparameter = keyof typeof hyperparameterFields;

/**
 * The training step's hyperparameters (training-pipeline/src/train.py checks the same): each a
 * typed, bounded number with its default.
 */
const hyperparameters = Object.fromEntries(
  Object.entries(hyperparameterFields).map(([name, { default: value, ...options }]) => [
    name,
    number(options).default(value),
  ]),
) as Record<Hyperparameter, z.ZodDefault<z.ZodNumber>>;

/** Names of the training hyperparameters, in the order the config schema declares them. */
export const HYPERPARAMETERS = Object.keys(hyperparameterFields) as Hyperparameter[];

function isHyperparameter(name: string): name is Hyperparameter {
  return Object.hasOwn(hyperparameterFields, name);
}

/** Whether a hyperparameter is an integer (else a float): the type of its pipeline parameter. */
export function isIntegerHyperparameter(name: string): boolean {
  return isHyperparameter(name) && "integer" in hyperparameterFields[name];
}

/**
 * The problem with a hyperparameter value, as the config check words it (`"0" is not a number > 0`),
 * or null when the value is valid; unknown names are problems too.
 */
export function hyperparameterProblem(name: string, value: unknown): string | null {
  if (!isHyperparameter(name)) {
    return `"${name}" is not a hyperparameter; expected one of ${HYPERPARAMETERS.join(", ")}`;
  }
  const parsed = hyperparameters[name].safeParse(value);
  return parsed.success ? null : issuesOf(parsed.error)[0]?.message ?? null;
}

const configSchema = object({
  name: string({
    description: "Prefix of every resource name (lowercase letters, digits and dashes).",
    pattern: /^[a-z][a-z0-9-]{1,19}$/,
    expected: "2-20 lowercase letters, digits or dashes starting with a letter",
  }),
  region: string({
    description: "AWS region of every stack.",
    pattern: /^[a-z]{2}(-gov)?-[a-z]+-\d$/,
    expected: "an AWS region such as eu-west-1",
  }),
  github: object({
    repository: string({
      description: "GitHub repository that runs CI, as owner/repo.",
      pattern: /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/,
      expected: "a GitHub repository as owner/repo",
    }),
    defaultBranch: string({
      description: "Branch whose pushes build the image.",
      pattern: /^[A-Za-z0-9._\/-]+$/,
      expected: "a branch name",
    }),
  }, { description: "The GitHub repository whose workflows the accounts trust." }),
  accounts: object({
    operations: account("operations (registry, Terraform state, CI roles)"),
    dev: account("dev"),
    staging: account("staging"),
    prod: account("prod"),
  }, { description: "The four AWS accounts." }),
  environments: object({
    dev: environment("dev"),
    staging: environment("staging"),
    prod: environment("prod"),
  }, { description: "Per-environment settings." }),
  pipeline: object({
    dataset: object({
      path: string({ description: "CSV file with the training data, relative to the repository root." }),
      textColumn: string({ description: "Column holding the text.", pattern: /^.+$/, expected: "a column name" }),
      labelColumn: string({ description: "Column holding the label.", pattern: /^.+$/, expected: "a column name" }),
    }, { description: "Training data uploaded to each environment's bucket." }),
    accuracyThreshold: number({
      description: "Minimum test accuracy for a model to be registered.",
      minimum: 0,
      maximum: 1,
    }),
    hyperparameters: object(hyperparameters, {
      description:
        "Training hyperparameters (defaults of the pipeline parameters of the same name, overridable with --param).",
    }),
    processingInstanceType: string({
      description: "Instance type of processing steps.",
      pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/,
      expected: "a SageMaker instance type such as ml.m5.large",
    }),
    trainingInstanceType: string({
      description: "Instance type of the training step.",
      pattern: /^ml\.[a-z0-9]+\.[a-z0-9]+$/,
      expected: "a SageMaker instance type such as ml.m5.large",
    }),
  }, { description: "The training pipeline." }),
  terraform: object({
    lockTimeout: string({
      description: "How long Terraform waits for a state lock.",
      pattern: /^\d+[smh]$/,
      expected: "a duration such as 30s, 5m or 1h",
    }),
    providerMirror: nullable(string({
      description:
        "Directory with providers in filesystem-mirror layout, for air-gapped machines (MLOPS_PROVIDER_MIRROR overrides it).",
    })),
  }, { description: "How Terraform runs." }).default({ lockTimeout: "5m", providerMirror: null }),
  accessLogs: object({
    enabled: boolean({
      description:
        "Opt in to S3 server access logs of the Terraform state and promotion records buckets, kept in a log bucket in the operations account.",
    }),
    retentionDays: number({ description: "Days the access logs are kept.", minimum: 1, integer: true }),
  }, { description: "S3 server access logs of the operations account's buckets (off by default)." }).default({
    enabled: false,
    retentionDays: 365,
  }),
  tags: record(
    string({ description: "Tag key.", pattern: /^.{1,128}$/, expected: "1-128 characters" }),
    string({ description: "Tag value." }),
    { description: "Tags applied to every resource." },
  ).default({}),
}, { description: "Configuration of the MLOps template: accounts, environments, pipeline.", allow: ["$schema"] });

/** The validated contents of the config file, defaults filled in. */
export type ConfigData = z.output<typeof configSchema>;
/** Settings of one environment. */
export type EnvironmentSettings = ConfigData["environments"][Environment];

/** The schema file's exact text (`mlops.config.schema.json`). */
export function schemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + "\n";
}

/** The JSON Schema of the config file, generated from the validating schema. */
export function configJsonSchema(): Record<string, unknown> {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: "mlops.config.schema.json",
    title: "MLOps template configuration",
    ...configSchema.toJSONSchema({ io: "input", target: "draft-2020-12" }),
  };
}

/** The config file could not be read, parsed or validated. */
export class ConfigError extends TaskError {
  constructor(readonly file: string, readonly issues: Issue[], hint?: string) {
    const lines = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
    super(
      issues.length === 1
        ? `Invalid config "${file}": ${lines[0]}${hint ? `. ${hint}` : ""}`
        : `Invalid config "${file}" (${issues.length} problems)${hint ? `. ${hint}` : ""}:\n${
          lines.map((l) => `  - ${l}`).join("\n")
        }`,
    );
    this.name = "ConfigError";
  }
}

/** Converts a character offset into a 1-based line and column. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = jsonErrorOffset(text);
    const where = lineAndColumn(text, offset === -1 ? text.length : offset);
    const reason = (error as Error).message.split(/,| in JSON| at position|\n/)[0];
    throw new ConfigError(file, [{
      path: "",
      message: `malformed JSON at line ${where.line}, column ${where.column}: ${reason}`,
    }]);
  }
}

/** Whether a region is one the AWS SDK's partition data names; the default accepts any. */
export type RegionCheck = (region: string) => boolean;

/** The AWS SDK's partition data as a {@linkcode RegionCheck} (loaded on first use; it costs ~40 ms). */
export async function sdkRegionCheck(): Promise<RegionCheck> {
  const { partition } = await import("@aws-sdk/core/client");
  // Known regions carry a description; anything else only matched a partition's pattern.
  return (region) => Boolean((partition(region) as { description?: string }).description);
}

/**
 * Checks across fields (promotion order, one account per environment, a region AWS knows). They run
 * on the raw data beside the schema's checks, so every problem is reported at once; a field the
 * schema already rejects is skipped.
 */
export function crossCheck(raw: unknown, schemaIssues: Issue[], knownRegion: RegionCheck = () => true): Issue[] {
  const issues: Issue[] = [];
  const flagged = new Set(schemaIssues.map((i) => i.path));
  const data = (raw ?? {}) as Partial<Record<string, unknown>>;
  const region = data.region;
  if (typeof region === "string" && !flagged.has("region") && !knownRegion(region)) {
    issues.push({
      path: "region",
      message: `${show(region)} is not an AWS region the AWS SDK knows; use one such as eu-west-1`,
    });
  }
  const environments = (data.environments ?? {}) as Partial<
    Record<string, { promoteFrom?: unknown; serving?: { memorySizeInMb?: unknown } }>
  >;
  for (const env of ENVIRONMENTS) {
    const from = environments[env]?.promoteFrom;
    if (typeof from !== "string" || !isEnvironment(from) || flagged.has(`environments.${env}.promoteFrom`)) continue;
    if (from === env) {
      issues.push({ path: `environments.${env}.promoteFrom`, message: `${show(from)} cannot promote from itself` });
    } else if (from && ENVIRONMENTS.indexOf(from) > ENVIRONMENTS.indexOf(env)) {
      issues.push({
        path: `environments.${env}.promoteFrom`,
        message: `${show(from)} comes after ${show(env)}; promotion goes dev → staging → prod`,
      });
    }
  }
  for (const env of ENVIRONMENTS) {
    const memory = environments[env]?.serving?.memorySizeInMb;
    const path = `environments.${env}.serving.memorySizeInMb`;
    if (typeof memory === "number" && !flagged.has(path) && memory % 1024 !== 0) {
      issues.push({
        path,
        message: `${show(memory)} is not a multiple of 1024 (serverless memory is 1024, 2048, … 6144)`,
      });
    }
  }
  const seen = new Map<string, string>();
  const accounts = (data.accounts ?? {}) as Partial<Record<string, { id?: unknown }>>;
  for (const [name, account] of Object.entries(accounts)) {
    const id = account?.id;
    if (typeof id !== "string" || flagged.has(`accounts.${name}.id`)) continue;
    const first = seen.get(id);
    if (first) {
      issues.push({
        path: `accounts.${name}.id`,
        message: `${show(id)} is also the ${first} account; each environment needs an account of its own`,
      });
    } else seen.set(id, name);
  }
  return issues;
}

/** Resource names derived from the config, computed once. */
export class Names {
  constructor(private readonly data: ConfigData) {}

  /** Terraform state bucket (operations account). */
  get stateBucket(): string {
    return `${this.data.name}-tfstate-${this.data.accounts.operations.id}`;
  }
  /** Promotion records bucket (operations account). */
  get recordsBucket(): string {
    return `${this.data.name}-promotions-${this.data.accounts.operations.id}`;
  }
  /** S3 server access log bucket (operations account), when `accessLogs.enabled`. */
  get accessLogsBucket(): string {
    return `${this.data.name}-access-logs-${this.data.accounts.operations.id}`;
  }
  /** Image repository (operations account). */
  get ecrRepository(): string {
    return `${this.data.name}/training`;
  }
  /** CI role that builds and pushes images (operations account). */
  get buildRole(): string {
    return `${this.data.name}-ci-build`;
  }
  /** SageMaker pipeline name (every environment). */
  get pipeline(): string {
    return `${this.data.name}-training`;
  }
  /** Model package group name (every environment). */
  get modelPackageGroup(): string {
    return `${this.data.name}-models`;
  }
  /** Permissions boundary of every role the main stack creates. */
  get boundaryPolicy(): string {
    return `${this.data.name}-workload-boundary`;
  }
  /** CI role that deploys `env`. */
  deployRole(env: Environment): string {
    return `${this.data.name}-${env}-deploy`;
  }
  /** Read-only CI role that plans `env` for pull requests. */
  planRole(env: Environment): string {
    return `${this.data.name}-${env}-plan`;
  }
  /** The environment's ML bucket (data, artifacts, models). */
  mlBucket(env: Environment): string {
    return `${this.data.name}-${env}-ml-${this.data.accounts[env].id}`;
  }
  /** SageMaker execution role of the environment. */
  executionRole(env: Environment): string {
    return `${this.data.name}-${env}-sagemaker-execution`;
  }
  /** Role EventBridge Scheduler uses to start the pipeline. */
  schedulerRole(env: Environment): string {
    return `${this.data.name}-${env}-retraining`;
  }
  /** IAM path of the roles the main stack creates (the only roles a deploy role may manage and pass). */
  get workloadRolePath(): string {
    return `/${this.data.name}-workload/`;
  }
  /** Prefix of the environment's state objects in the state bucket. */
  statePrefix(env: Environment): string {
    return `main/${env}/`;
  }
  /** ARN of the image repository. */
  get ecrRepositoryArn(): string {
    const { region, accounts } = this.data;
    return `arn:aws:ecr:${region}:${accounts.operations.id}:repository/${this.ecrRepository}`;
  }
  /** Registry host of the operations account. */
  get registry(): string {
    return `${this.data.accounts.operations.id}.dkr.ecr.${this.data.region}.amazonaws.com`;
  }
}

/** Exact GitHub OIDC `sub` values the CI roles trust. */
export class Subjects {
  constructor(private readonly data: ConfigData) {}

  private get repo(): string {
    return `repo:${this.data.github.repository}`;
  }
  /** Who may assume the build role: pushes to the default branch. */
  get build(): string[] {
    return [`${this.repo}:ref:refs/heads/${this.data.github.defaultBranch}`];
  }
  /** Who may assume the deploy role of `env`. */
  deploy(env: Environment): string[] {
    const { ci } = this.data.environments[env];
    return ci.githubEnvironment ? [`${this.repo}:environment:${ci.githubEnvironment}`] : [`${this.repo}:ref:${ci.ref}`];
  }
  /** Who may assume the read-only plan roles: pull requests. */
  get plan(): string[] {
    return [`${this.repo}:pull_request`];
  }
}

/** The validated configuration with the names derived from it. */
export class Config {
  readonly names: Names;
  readonly subjects: Subjects;

  /** Use {@linkcode Config.load} or {@linkcode Config.parse}. */
  constructor(readonly file: string, readonly data: ConfigData) {
    this.names = new Names(data);
    this.subjects = new Subjects(data);
  }

  /** Reads and validates a config file (regions against the AWS SDK's partition data). */
  static async load(file: string): Promise<Config> {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound
        ? "the file does not exist"
        : error instanceof Deno.errors.IsADirectory
        ? "it is a directory"
        : (error as Error).message;
      throw new ConfigError(
        file,
        [{ path: "", message: `cannot be read: ${reason}` }],
        "Run the task in the repository (its mlops.config.json is the example to edit), or pass --config <file>",
      );
    }
    return Config.parse(file, text, await sdkRegionCheck());
  }

  /**
   * Validates config text; `file` is only used in messages. Schema and cross-field problems are
   * reported together. `knownRegion` defaults to accepting any region the schema's pattern allows.
   */
  static parse(file: string, text: string, knownRegion?: RegionCheck): Config {
    // A UTF-8 byte order mark (some Windows editors add one) is not part of the JSON.
    const raw = parseJson(file, text.replace(/^\uFEFF/, ""));
    const parsed = configSchema.safeParse(raw);
    const schemaIssues = parsed.success ? [] : issuesOf(parsed.error);
    const issues = [...schemaIssues, ...crossCheck(raw, schemaIssues, knownRegion)];
    if (!parsed.success || issues.length > 0) throw new ConfigError(file, issues, `Fix it in ${file}`);
    return new Config(file, parsed.data);
  }

  /** The AWS region of every stack. */
  get region(): string {
    return this.data.region;
  }

  /** Account id and profile of an account. */
  account(name: AccountName): { id: string; profile: string | null } {
    return this.data.accounts[name];
  }

  /** Settings of an environment. */
  environment(env: Environment): EnvironmentSettings {
    return this.data.environments[env];
  }
}
