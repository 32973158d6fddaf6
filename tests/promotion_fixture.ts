/**
 * A promotion workspace against the fake AWS server: four accounts with
 * profiles, fake STS, ECR, S3, SageMaker (pipelines and hosting), and recording stand-ins for
 * `terraform` (the main stack "deploys" with no changes and reports outputs)
 * and `docker` (a push makes the image exist in the fake ECR). Used by the
 * promote tests and by `deno task bench`.
 *
 * @example
 * ```ts
 * import { promotionWorkspace } from "./promotion_fixture.ts";
 * await using w = await promotionWorkspace();
 * const run = await w.promote(["dev"]);
 *
 * // Where `deno task promote dev --wait` and `… staging --wait` left one (run once per test module).
 * await using p = await promotedWorkspace(["dev", "staging"]);
 * ```
 * @module
 */
import { FakeHosting } from "./fake_hosting.ts";
import { FakeEcr, FakeS3, FakeSageMaker } from "./fake_services.ts";
import {
  copyTree,
  fourAccountWorkspace,
  isolatedEnv,
  runTask,
  stubCalls,
  stubCommand,
  type TaskRun,
} from "./helpers.ts";

const TERRAFORM = (dir: string) => `
case "$*" in
  "version -json") echo '{"terraform_version":"1.11.4"}' ;;
  *" init "*) exit 0 ;;
  *" plan "*) [ -e "${dir}/deploy.fails" ] && { echo "Error: simulated deploy failure" >&2; exit 1; }; exit 0 ;;
  *" show -json "*) echo '{"format_version":"1.2","resource_changes":[]}' ;;
  *" output -json"*)
    env=$(echo "$*" | sed -n 's|.*/main-\\([a-z]*\\)/.*|\\1|p')
    case "$*" in *-chdir=*/main\\ *|*-chdir=*/main) ;; esac
    acct=$(case "$TF_DATA_DIR" in *main-dev*) echo 222222222222;; *main-staging*) echo 333333333333;; *) echo 444444444444;; esac)
    name=$(case "$TF_DATA_DIR" in *main-dev*) echo dev;; *main-staging*) echo staging;; *) echo prod;; esac)
    echo "{\\"execution_role_arn\\":{\\"value\\":\\"arn:aws:iam::$acct:role/mlops-workload/mlops-$name-sagemaker-execution\\"},\\"bucket_name\\":{\\"value\\":\\"mlops-$name-ml-$acct\\"},\\"model_package_group_name\\":{\\"value\\":\\"mlops-models\\"}}" ;;
  *) echo "unexpected terraform $*" >&2; exit 9 ;;
esac`;

const DOCKER = (dir: string) => `
case "$1" in
  info) echo 28.2.2 ;;
  login) cat > /dev/null; echo "Login Succeeded" ;;
  build) echo "built (stand-in)" ;;
  push) echo "$2" >> "${dir}/registry.pushes"; echo "pushed $2" ;;
esac`;

/** A workspace whose tasks share one set of fakes. */
export async function promotionWorkspace(commit = "0123456789abcdef0123456789abcdef01234567") {
  const { dir, aws } = await fourAccountWorkspace(["training-pipeline", "terraform"]);
  const ecr = new FakeEcr(aws, { pushLog: `${dir}/registry.pushes` });
  ecr.createRepository("mlops/training");
  const s3 = new FakeS3(aws);
  const sagemaker = new FakeSageMaker(aws);
  sagemaker.perAccount = true;
  const hosting = new FakeHosting(aws, (account, name) => sagemaker.pipelines.get(`${account}/${name}`)?.definition);
  let bin = await stubCommand(dir, "terraform", TERRAFORM(dir));
  bin = await stubCommand(dir, "docker", DOCKER(dir));
  const env: Record<string, string> = {
    ...isolatedEnv(dir),
    ...aws.endpointEnv(["sts", "s3", "ecr", "sagemaker", "sagemaker_runtime"]),
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    GITHUB_SHA: commit,
    MLOPS_POLL_MS: "5",
  };
  return {
    dir,
    aws,
    ecr,
    s3,
    sagemaker,
    hosting,
    commit,
    env,
    promote: (args: string[], extra: Record<string, string> = {}): Promise<TaskRun> =>
      runTask("promote", args, { cwd: dir, env: { ...env, ...extra }, clearEnv: true }),
    dockerBuilds: async () => (await stubCalls(dir, "docker")).filter((c) => c.startsWith("build ")).length,
    terraformCalls: () => stubCalls(dir, "terraform"),
    record: (env: string, name: string) => {
      const text = s3.text("mlops-promotions-111111111111", `promotions/${env}/${name}.json`);
      return text === undefined ? undefined : JSON.parse(text);
    },
    async [Symbol.asyncDispose]() {
      await aws.close();
    },
  };
}

/** A promotion workspace. */
export type PromotionWorkspace = Awaited<ReturnType<typeof promotionWorkspace>>;

/** What promotions left behind: the fakes' state and the workspace's scratch files. */
interface PromotedState {
  dir: string;
  objects: PromotionWorkspace["s3"]["objects"];
  repositories: PromotionWorkspace["ecr"]["repositories"];
  pipelines: PromotionWorkspace["sagemaker"]["pipelines"];
  executions: PromotionWorkspace["sagemaker"]["executions"];
}

const promotedStates = new Map<string, Promise<PromotedState>>();

/** The state after `deno task promote <env> --wait` for each of `envs` in order; promoted once per test module. */
function promotedState(envs: string[]): Promise<PromotedState> {
  const key = envs.join(" ");
  let state = promotedStates.get(key);
  if (!state) {
    state = (async () => {
      // Each environment is promoted on top of the state before it, so a longer list costs one more run.
      await using w = await promotedWorkspace(envs.slice(0, -1));
      const env = envs.at(-1)!;
      const run = await w.promote([env, "--wait"]);
      if (run.code !== 0) throw new Error(`Setting up: deno task promote ${env} --wait failed:\n${run.stderr}`);
      const { s3, ecr, sagemaker, dir } = w;
      return structuredClone({
        dir,
        objects: s3.objects,
        repositories: ecr.repositories,
        pipelines: sagemaker.pipelines,
        executions: sagemaker.executions,
      });
    })();
    promotedStates.set(key, state);
  }
  return state;
}

/**
 * A fresh promotion workspace that starts where `deno task promote <env> --wait` for each of `envs` (in order)
 * left one: the promotion records, the pushed image, the pipelines and their executions, and `.mlops/` (the
 * saved Terraform outputs). For tests whose subject comes after the promotions: the real promotions run once per
 * test module, and each such test gets its own copy of what they left instead of running them again.
 */
export async function promotedWorkspace(envs: string[]): Promise<PromotionWorkspace> {
  const w = await promotionWorkspace();
  if (envs.length === 0) return w;
  const state = structuredClone(await promotedState(envs));
  for (const [key, object] of state.objects) w.s3.objects.set(key, object);
  for (const [name, images] of state.repositories) w.ecr.repositories.set(name, images);
  for (const [name, pipeline] of state.pipelines) w.sagemaker.pipelines.set(name, pipeline);
  w.sagemaker.executions.push(...state.executions);
  await copyTree(`${state.dir}/.mlops`, `${w.dir}/.mlops`);
  return w;
}
