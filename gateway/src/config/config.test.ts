import { expect } from "chai";
import { readFileSync } from "node:fs";
import { inspect } from "node:util";
import { ConfigError, loadConfig, loadNewMasterKey, loadStorageConfig, type ConfigIo, type Env } from "./config.ts";
import { README, readmeWithVariables, VARIABLES } from "./variables.ts";

const KEY_HEX = "3c6e0b8a9c15224a8228b9a98ca1531d3c6e0b8a9c15224a8228b9a98ca1531e";
const TOKEN = "s3cr3t-admin-token-abcdefghijklmnopqrstuvwxyz0123";
const GATEWAY_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const TOKEN_SECRET = "hmac-key-for-bearer-tokens-0123456789abcdef";
const LINK_TOKEN = "l1nk-code-token-ABCDEFGHIJKLMNOPQRSTUVWXYZ-9876";
const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const ANCHOR = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";

const VALID: Env = {
  GATEWAY_PORT: "8081",
  RPC_URL: "http://127.0.0.1:8545",
  CHAIN_ID: "31337",
  CUSTODIAN_ADDRESS: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  GATEWAY_MASTER_KEY: KEY_HEX,
  GATEWAY_ADMIN_TOKEN: TOKEN,
  GATEWAY_LINK_CODE_TOKEN: LINK_TOKEN,
  GATEWAY_PRIVATE_KEY: GATEWAY_KEY,
  GATEWAY_TOKEN_SECRET: TOKEN_SECRET,
};

function io(files: Record<string, Buffer | string> = {}): ConfigIo {
  return {
    deployment: (chainId) => (chainId === 31337 ? { ConsentRegistry: REGISTRY, AuditAnchor: ANCHOR } : undefined),
    cwd: () => "/srv/gateway",
    readFile: (file) => {
      const content = files[file];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: "ENOENT" });
      return Buffer.isBuffer(content) ? content : Buffer.from(content, "utf8");
    },
  };
}

function problems(env: Env, files: Record<string, Buffer | string> = {}): Record<string, string> {
  try {
    loadConfig(env, io(files));
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return Object.fromEntries((err as ConfigError).problems.map((p) => [p.variable, p.problem]));
  }
  throw new Error("expected a ConfigError");
}

describe("config", () => {
  it("starts event scans at the sdk's deployment block of the registry it uses, not block 0", () => {
    const deployed: ConfigIo = {
      ...io(),
      deployment: (chainId) =>
        chainId === 84532 ? { ConsentRegistry: REGISTRY, AuditAnchor: ANCHOR, deploymentBlock: 1234567 } : undefined,
    };
    const env = { ...VALID, CHAIN_ID: "84532" };
    const config = loadConfig(env, deployed);
    expect(config.chainId).to.equal(84532);
    expect(config.consentRegistryAddress).to.equal(REGISTRY);
    expect(config.eventsFromBlock).to.equal(1234567);
    // A registry the sdk does not know for that chain: its deployment block is unknown.
    const other = loadConfig({ ...env, CONSENT_REGISTRY_ADDRESS: ANCHOR }, deployed);
    expect(other.eventsFromBlock).to.equal(0);
    // An explicit setting wins.
    expect(loadConfig({ ...env, GATEWAY_EVENTS_FROM_BLOCK: "7" }, deployed).eventsFromBlock).to.equal(7);
  });

  it("takes the indexer lists are read from from INDEXER_URL (none by default), http(s) only", () => {
    expect(loadConfig(VALID, io()).indexerUrl).to.equal(undefined);
    expect(loadConfig({ ...VALID, INDEXER_URL: "http://127.0.0.1:42069/" }, io()).indexerUrl).to.equal(
      "http://127.0.0.1:42069",
    );
    expect(problems({ ...VALID, INDEXER_URL: "ftp://indexer" })["INDEXER_URL"]).to.match(/http or https/);
  });

  it("loads a valid environment with defaults", () => {
    const config = loadConfig(VALID, io());
    expect(config.host).to.equal("127.0.0.1");
    expect(config.port).to.equal(8081);
    expect(config.publicUrl).to.equal("http://127.0.0.1:8081");
    expect(config.chainId).to.equal(31337);
    expect(config.custodianAddress).to.equal("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    expect(config.database).to.deep.equal({ kind: "pglite", dataDir: "/srv/gateway/.data/gateway" });
    expect(config.masterKey.reveal().toString("hex")).to.equal(KEY_HEX);
    expect(config.adminToken.reveal()).to.equal(TOKEN);
    expect(config.gatewayPrivateKey.reveal()).to.equal(GATEWAY_KEY);
    expect(config.tokenSecret.reveal().toString("utf8")).to.equal(TOKEN_SECRET);
    expect(config.consentRegistryAddress).to.equal(REGISTRY);
    expect(config.auditAnchorAddress).to.equal(ANCHOR);
    expect(config.studyEscrowAddress).to.equal(undefined);
    expect(config.tokenTtlSeconds).to.equal(900);
    expect(config.bodyLimitBytes).to.equal(1024 * 1024);
  });

  it("lists every missing required variable by name in one error", () => {
    const p = problems({});
    expect(Object.keys(p).sort()).to.deep.equal(
      [
        "CHAIN_ID",
        "CUSTODIAN_ADDRESS",
        "GATEWAY_ADMIN_TOKEN",
        "GATEWAY_LINK_CODE_TOKEN",
        "GATEWAY_MASTER_KEY",
        "GATEWAY_PRIVATE_KEY",
        "GATEWAY_TOKEN_SECRET",
        "RPC_URL",
      ].sort(),
    );
    try {
      loadConfig({}, io());
    } catch (err) {
      for (const name of Object.keys(p)) expect((err as Error).message).to.contain(`${name}:`);
    }
  });

  it("says what is wrong with each bad value, without echoing secrets", () => {
    const env: Env = {
      ...VALID,
      GATEWAY_PORT: "80a",
      RPC_URL: "ftp://chain",
      CHAIN_ID: "-1",
      CUSTODIAN_ADDRESS: "0x70997970c51812dc3a010c7d01b50e0d17dc79C8", // broken checksum
      GATEWAY_MASTER_KEY: "abc123",
      GATEWAY_ADMIN_TOKEN: "short-token-value",
      GATEWAY_PRIVATE_KEY: "0x1234",
      DATABASE_URL: "mysql://db/x",
      GATEWAY_LOG_LEVEL: "loud",
    };
    const p = problems(env);
    expect(p["GATEWAY_PORT"]).to.match(/integer/);
    expect(p["RPC_URL"]).to.match(/http or https or ws or wss/);
    expect(p["CHAIN_ID"]).to.match(/integer/);
    expect(p["CUSTODIAN_ADDRESS"]).to.match(/checksum/);
    expect(p["GATEWAY_MASTER_KEY"]).to.match(/64 hexadecimal/);
    expect(p["GATEWAY_ADMIN_TOKEN"]).to.match(/at least 32/);
    expect(p["GATEWAY_PRIVATE_KEY"]).to.match(/64 hex/);
    expect(p["DATABASE_URL"]).to.match(/postgres/);
    expect(p["GATEWAY_LOG_LEVEL"]).to.match(/one of/);
    const message = (() => {
      try {
        loadConfig(env, io());
      } catch (err) {
        return (err as Error).message;
      }
      return "";
    })();
    expect(message).not.to.contain("abc123");
    expect(message).not.to.contain("short-token-value");
  });

  it("reads the master key from a file (hex or 32 raw bytes), relative to cwd", () => {
    const { GATEWAY_MASTER_KEY: _k, ...rest } = VALID;
    const hexConfig = loadConfig(
      { ...rest, GATEWAY_MASTER_KEY_FILE: "secrets/master.key" },
      io({ "/srv/gateway/secrets/master.key": `${KEY_HEX}\n` }),
    );
    expect(hexConfig.masterKey.reveal().toString("hex")).to.equal(KEY_HEX);
    const raw = Buffer.from(KEY_HEX, "hex");
    const rawConfig = loadConfig({ ...rest, GATEWAY_MASTER_KEY_FILE: "/keys/raw" }, io({ "/keys/raw": raw }));
    expect(rawConfig.masterKey.reveal().equals(raw)).to.equal(true);
  });

  it("refuses both or neither master key source, unreadable files and weak keys", () => {
    expect(problems({ ...VALID, GATEWAY_MASTER_KEY_FILE: "/k" })["GATEWAY_MASTER_KEY"]).to.match(/not both/);
    const { GATEWAY_MASTER_KEY: _k, ...rest } = VALID;
    expect(problems(rest)["GATEWAY_MASTER_KEY"]).to.match(/required.*GATEWAY_MASTER_KEY_FILE/);
    expect(problems({ ...rest, GATEWAY_MASTER_KEY_FILE: "/missing" })["GATEWAY_MASTER_KEY_FILE"]).to.match(
      /cannot read.*ENOENT/,
    );
    expect(problems({ ...VALID, GATEWAY_MASTER_KEY: "00".repeat(32) })["GATEWAY_MASTER_KEY"]).to.match(/random/);
  });

  it("requires GATEWAY_PUBLIC_URL off loopback, and https for public hosts", () => {
    expect(problems({ ...VALID, GATEWAY_HOST: "0.0.0.0" })["GATEWAY_PUBLIC_URL"]).to.match(/required/);
    expect(problems({ ...VALID, GATEWAY_PUBLIC_URL: "http://fhir.example.org" })["GATEWAY_PUBLIC_URL"]).to.match(
      /https/,
    );
    expect(problems({ ...VALID, GATEWAY_PUBLIC_URL: "https://u:p@fhir.example.org" })["GATEWAY_PUBLIC_URL"]).to.match(
      /credentials/,
    );
    const config = loadConfig(
      { ...VALID, GATEWAY_HOST: "0.0.0.0", GATEWAY_PUBLIC_URL: "https://fhir.example.org/gw/" },
      io(),
    );
    expect(config.publicUrl).to.equal("https://fhir.example.org/gw");
  });

  it("chooses PostgreSQL by DATABASE_URL, and refuses it together with GATEWAY_DATA_DIR", () => {
    const config = loadConfig({ ...VALID, DATABASE_URL: "postgres://gw:pw@127.0.0.1:5432/consentry" }, io());
    expect(config.database.kind).to.equal("postgres");
    expect(
      problems({ ...VALID, DATABASE_URL: "postgres://h/db", GATEWAY_DATA_DIR: "/d" })["GATEWAY_DATA_DIR"],
    ).to.match(/either/);
    expect(loadConfig({ ...VALID, GATEWAY_DATA_DIR: ":memory:" }, io()).database).to.deep.equal({
      kind: "pglite",
      dataDir: undefined,
    });
  });

  it("validates the gateway private key as a secp256k1 scalar", () => {
    expect(problems({ ...VALID, GATEWAY_PRIVATE_KEY: `0x${"0".repeat(64)}` })["GATEWAY_PRIVATE_KEY"]).to.match(
      /secp256k1/,
    );
    expect(problems({ ...VALID, GATEWAY_PRIVATE_KEY: `0x${"f".repeat(64)}` })["GATEWAY_PRIVATE_KEY"]).to.match(
      /secp256k1/,
    );
    const pk = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    expect(loadConfig({ ...VALID, GATEWAY_PRIVATE_KEY: pk }, io()).gatewayPrivateKey?.reveal()).to.equal(pk);
  });

  it("takes the PreventionRewards from PREVENTION_REWARDS_ADDRESS or the sdk deployment, validated, optional", () => {
    const rewards = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    expect(loadConfig(VALID, io()).preventionRewardsAddress).to.equal(undefined);
    expect(loadConfig({ ...VALID, PREVENTION_REWARDS_ADDRESS: rewards }, io()).preventionRewardsAddress).to.equal(
      rewards,
    );
    const known: ConfigIo = {
      ...io(),
      deployment: (chainId) =>
        chainId === 31337 ? { ConsentRegistry: REGISTRY, AuditAnchor: ANCHOR, PreventionRewards: rewards } : undefined,
    };
    expect(loadConfig(VALID, known).preventionRewardsAddress).to.equal(rewards);
    expect(problems({ ...VALID, PREVENTION_REWARDS_ADDRESS: "0x1234" })["PREVENTION_REWARDS_ADDRESS"]).to.match(
      /20-byte address/,
    );
    expect(
      problems({ ...VALID, PREVENTION_REWARDS_ADDRESS: rewards.toLowerCase().replace("fe", "FE") })[
        "PREVENTION_REWARDS_ADDRESS"
      ],
    ).to.match(/EIP-55/);
  });

  it("flags unknown GATEWAY_* variables as likely typos", () => {
    expect(problems({ ...VALID, GATEWAY_PROT: "8080" })["GATEWAY_PROT"]).to.match(/misspelt/);
  });

  it("never prints secrets when the config is logged", () => {
    const config = loadConfig({ ...VALID, DATABASE_URL: "postgres://gw:hunter2@db/x" }, io());
    const printed = JSON.stringify(config) + inspect(config, { depth: 5 }) + String(config.adminToken);
    expect(printed).not.to.contain(TOKEN);
    expect(printed).not.to.contain("hunter2");
    expect(printed).not.to.contain(KEY_HEX);
    expect(printed).to.contain("[redacted]");
  });

  it("loads storage settings and the new key alone for the rotation tool", () => {
    const storage = loadStorageConfig({ GATEWAY_MASTER_KEY: KEY_HEX, GATEWAY_DATA_DIR: "db" }, io());
    expect(storage.database).to.deep.equal({ kind: "pglite", dataDir: "/srv/gateway/db" });
    expect(() => loadNewMasterKey({}, io())).to.throw(ConfigError, /GATEWAY_NEW_MASTER_KEY: is required/);
  });

  it("takes contract addresses from the environment, else from the sdk deployment, naming what is missing", () => {
    const own = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
    const config = loadConfig({ ...VALID, CONSENT_REGISTRY_ADDRESS: own, STUDY_ESCROW_ADDRESS: own }, io());
    expect(config.consentRegistryAddress).to.equal(own);
    expect(config.auditAnchorAddress).to.equal(ANCHOR);
    expect(config.studyEscrowAddress).to.equal(own);
    const p = problems({ ...VALID, CHAIN_ID: "11155111" });
    expect(p["CONSENT_REGISTRY_ADDRESS"]).to.match(/no ConsentRegistry deployment is known for chain 11155111/);
    expect(p["AUDIT_ANCHOR_ADDRESS"]).to.match(/no AuditAnchor deployment/);
    expect(p["STUDY_ESCROW_ADDRESS"]).to.equal(undefined); // optional
    expect(p["PREVENTION_REWARDS_ADDRESS"]).to.equal(undefined); // optional
    expect(problems({ ...VALID, AUDIT_ANCHOR_ADDRESS: "0x1234" })["AUDIT_ANCHOR_ADDRESS"]).to.match(/20-byte address/);
    expect(
      problems({ ...VALID, CONSENT_REGISTRY_ADDRESS: `0x${"0".repeat(40)}` })["CONSENT_REGISTRY_ADDRESS"],
    ).to.match(/zero address/);
  });

  it("requires a bearer-token secret of at least 32 bytes, from the variable or a file, unlike the admin token", () => {
    const { GATEWAY_TOKEN_SECRET: _s, ...rest } = VALID;
    expect(problems(rest)["GATEWAY_TOKEN_SECRET"]).to.match(/is required.*GATEWAY_TOKEN_SECRET_FILE/);
    expect(problems({ ...VALID, GATEWAY_TOKEN_SECRET: "too-short-secret" })["GATEWAY_TOKEN_SECRET"]).to.match(
      /at least 32 bytes \(got 16\)/,
    );
    expect(problems({ ...VALID, GATEWAY_TOKEN_SECRET: "a".repeat(40) })["GATEWAY_TOKEN_SECRET"]).to.match(/repetitive/);
    expect(problems({ ...VALID, GATEWAY_TOKEN_SECRET: TOKEN })["GATEWAY_TOKEN_SECRET"]).to.match(/differ/);
    const fromFile = loadConfig(
      { ...rest, GATEWAY_TOKEN_SECRET_FILE: "/run/secrets/token" },
      io({ "/run/secrets/token": `${TOKEN_SECRET}\n` }),
    );
    expect(fromFile.tokenSecret.reveal().toString("utf8")).to.equal(TOKEN_SECRET);
    expect(JSON.stringify(fromFile)).not.to.contain(TOKEN_SECRET);
    expect(problems({ ...VALID, GATEWAY_PRIVATE_KEY: undefined })["GATEWAY_PRIVATE_KEY"]).to.match(/is required/);
    const keyFromFile = loadConfig(
      { ...VALID, GATEWAY_PRIVATE_KEY: undefined, GATEWAY_PRIVATE_KEY_FILE: "/run/secrets/gateway.key" },
      io({ "/run/secrets/gateway.key": `${GATEWAY_KEY}\n` }),
    );
    expect(keyFromFile.gatewayPrivateKey.reveal()).to.equal(GATEWAY_KEY);
  });

  it("requires a link-code token of its own: not the admin token, not the bearer-token secret", () => {
    expect(problems({ ...VALID, GATEWAY_LINK_CODE_TOKEN: TOKEN })["GATEWAY_LINK_CODE_TOKEN"]).to.match(
      /must differ from GATEWAY_ADMIN_TOKEN/,
    );
    expect(problems({ ...VALID, GATEWAY_LINK_CODE_TOKEN: "short" })["GATEWAY_LINK_CODE_TOKEN"]).to.match(/at least 32/);
    expect(problems({ ...VALID, GATEWAY_TOKEN_SECRET: LINK_TOKEN })["GATEWAY_TOKEN_SECRET"]).to.match(
      /must differ from GATEWAY_LINK_CODE_TOKEN/,
    );
    expect(loadConfig(VALID, io()).linkCodeToken.reveal()).to.equal(LINK_TOKEN);
  });

  it("validates token lifetime, anchoring interval, rate and relay limits, CORS origins", () => {
    const config = loadConfig(
      {
        ...VALID,
        GATEWAY_TOKEN_TTL_SECONDS: "300",
        GATEWAY_ANCHOR_INTERVAL_SECONDS: "0",
        GATEWAY_RATE_LIMIT_PER_MINUTE: "50",
        GATEWAY_RATE_LIMIT_IP_PER_MINUTE: "10",
        GATEWAY_RELAY_LIMIT_PER_HOUR: "3",
        GATEWAY_RELAY_GLOBAL_LIMIT_PER_HOUR: "100",
        GATEWAY_RELAY_BUDGET_WEI_PER_HOUR: "2000000000000000000",
        GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR: "500000000000000000",
        GATEWAY_TRUSTED_PROXIES: "10.0.0.0/8, 192.0.2.1, fd00::/8",
        GATEWAY_CORS_ORIGINS: "http://localhost:3000, https://portal.example.org",
        GATEWAY_EVENTS_FROM_BLOCK: "123",
        GATEWAY_RELAY_WITHDRAW_FEE: "50000000000000000",
      },
      io(),
    );
    expect(config).to.deep.include({
      relayWithdrawFee: "50000000000000000",
      tokenTtlSeconds: 300,
      anchorIntervalSeconds: 0,
      rateLimits: { perAddressPerMinute: 50, perIpPerMinute: 10 },
      relayLimits: {
        perAddressPerHour: 3,
        globalPerHour: 100,
        weiPerHour: 2n * 10n ** 18n,
        revocationWeiPerHour: 5n * 10n ** 17n,
      },
      corsOrigins: ["http://localhost:3000", "https://portal.example.org"],
      trustedProxies: ["10.0.0.0/8", "192.0.2.1", "fd00::/8"],
      eventsFromBlock: 123,
    });
    const p = problems({
      ...VALID,
      GATEWAY_TOKEN_TTL_SECONDS: "86400",
      GATEWAY_RATE_LIMIT_PER_MINUTE: "0",
      GATEWAY_CORS_ORIGINS: "https://portal.example.org/app",
      GATEWAY_EVENTS_FROM_BLOCK: "latest",
      GATEWAY_RELAY_BUDGET_WEI_PER_HOUR: "1000",
      GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR: "2000",
      GATEWAY_TRUSTED_PROXIES: "10.0.0.0/33",
    });
    expect(p["GATEWAY_TOKEN_TTL_SECONDS"]).to.match(/from 60 to 3600/);
    expect(p["GATEWAY_RATE_LIMIT_PER_MINUTE"]).to.match(/integer/);
    expect(p["GATEWAY_CORS_ORIGINS"]).to.match(/origins only/);
    expect(p["GATEWAY_EVENTS_FROM_BLOCK"]).to.match(/integer from 0/);
    expect(p["GATEWAY_RELAY_REVOCATION_BUDGET_WEI_PER_HOUR"]).to.match(/must not exceed/);
    expect(p["GATEWAY_TRUSTED_PROXIES"]).to.match(/IP addresses or CIDRs/);
    expect(problems({ ...VALID, GATEWAY_TRUSTED_PROXIES: "proxy.example.org" })["GATEWAY_TRUSTED_PROXIES"]).to.match(
      /IP addresses or CIDRs/,
    );
    expect(
      problems({ ...VALID, GATEWAY_RELAY_BUDGET_WEI_PER_HOUR: "0.1" })["GATEWAY_RELAY_BUDGET_WEI_PER_HOUR"],
    ).to.match(/amount of wei/);
  });

  describe("the table of variables", () => {
    it("is the README's table (node gateway/src/config/variables.ts --write rewrites it)", () => {
      const readme = readFileSync(README, "utf8");
      expect(readmeWithVariables(readme), "gateway/README.md's variable table is out of date").to.equal(readme);
    });

    it("gives loadConfig its defaults and ranges", () => {
      const config = loadConfig({ ...VALID, GATEWAY_PORT: undefined }, io());
      expect(config.port).to.equal(VARIABLES.GATEWAY_PORT.int.fallback);
      expect(config.tokenTtlSeconds).to.equal(VARIABLES.GATEWAY_TOKEN_TTL_SECONDS.int.fallback);
      expect(config.relayLimits.weiPerHour).to.equal(VARIABLES.GATEWAY_RELAY_BUDGET_WEI_PER_HOUR.wei);
      const { max } = VARIABLES.GATEWAY_TOKEN_TTL_SECONDS.int;
      expect(() => loadConfig({ ...VALID, GATEWAY_TOKEN_TTL_SECONDS: String(max + 1) }, io()))
        .to.throw(ConfigError)
        .with.property("message")
        .that.contains(`GATEWAY_TOKEN_TTL_SECONDS: must be an integer from 60 to ${max}`);
    });
  });
});
