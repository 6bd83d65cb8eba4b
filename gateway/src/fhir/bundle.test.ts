import { expect } from "chai";
import { prepareTransaction } from "./bundle.ts";
import { OperationOutcomeError } from "./outcomes.ts";

function ids(): () => string {
  let n = 0;
  return () => `new-${++n}`;
}

function problem(body: unknown): { status: number; text: string; expression: string[] } {
  try {
    prepareTransaction(body, ids());
  } catch (err) {
    expect(err).to.be.instanceOf(OperationOutcomeError);
    const e = err as OperationOutcomeError;
    return {
      status: e.status,
      text: e.outcome.issue?.[0]?.details?.text ?? "",
      expression: e.outcome.issue?.[0]?.expression ?? [],
    };
  }
  throw new Error("expected a rejection");
}

const obs = (subject: string) => ({
  resourceType: "Observation",
  status: "final",
  code: { text: "glucose" },
  subject: { reference: subject },
});

describe("transaction bundles", function () {
  this.timeout(90_000);

  it("assigns ids to POST entries, resolves urn:uuid references, puts Patients first", () => {
    const prepared = prepareTransaction(
      {
        resourceType: "Bundle",
        type: "transaction",
        entry: [
          { fullUrl: "urn:uuid:obs", resource: obs("urn:uuid:pat"), request: { method: "POST", url: "Observation" } },
          {
            fullUrl: "urn:uuid:pat",
            resource: { resourceType: "Patient" },
            request: { method: "POST", url: "Patient" },
          },
          { resource: { resourceType: "Patient", id: "mine" }, request: { method: "PUT", url: "Patient/mine" } },
        ],
      },
      ids(),
    );
    expect(prepared.map((e) => [e.index, e.method, `${e.resource.resourceType}/${e.resource.id}`])).to.deep.equal([
      [1, "POST", "Patient/new-2"],
      [2, "PUT", "Patient/mine"],
      [0, "POST", "Observation/new-1"],
    ]);
    expect(prepared[2]!.resource).to.deep.include({ subject: { reference: "Patient/new-2" } });
  });

  it("rejects anything but a well-formed transaction, naming the entry at fault", () => {
    expect(problem({ resourceType: "Patient" }).text).to.match(/Bundle of type transaction/);
    expect(problem({ resourceType: "Bundle", type: "batch" }).text).to.match(/Only transaction/);
    expect(problem({ resourceType: "Bundle", type: "transaction", entry: {} }).expression).to.deep.equal([
      "Bundle.entry",
    ]);
    const entry = (e: unknown) => ({ resourceType: "Bundle", type: "transaction", entry: [e] });
    expect(problem(entry({ request: { method: "POST", url: "Patient" } })).expression).to.deep.equal([
      "Bundle.entry[0].resource",
    ]);
    expect(
      problem(entry({ resource: { resourceType: "Practitioner" }, request: { method: "POST", url: "Practitioner" } }))
        .text,
    ).to.match(/not supported/);
    expect(
      problem(entry({ resource: { resourceType: "Patient" }, request: { method: "DELETE", url: "Patient/1" } })).text,
    ).to.match(/POST or PUT/);
    expect(
      problem(entry({ resource: { resourceType: "Patient" }, request: { method: "POST", url: "Observation" } })).text,
    ).to.match(/url "Patient"/);
    expect(
      problem(entry({ resource: { resourceType: "Patient", id: "a" }, request: { method: "PUT", url: "Patient/b" } }))
        .text,
    ).to.match(/does not match/);
    expect(
      problem(entry({ resource: { resourceType: "Patient" }, request: { method: "PUT", url: "Patient/1' OR '1'='1" } }))
        .status,
    ).to.equal(400);
    expect(
      problem(
        entry({
          resource: { resourceType: "Patient" },
          request: { method: "POST", url: "Patient", ifNoneExist: "identifier=x" },
        }),
      ).text,
    ).to.match(/Conditional/);
    expect(
      problem(entry({ resource: obs("urn:uuid:nowhere"), request: { method: "POST", url: "Observation" } })).expression,
    ).to.deep.equal(["Bundle.entry[0].resource.subject.reference"]);
    expect(
      problem({
        resourceType: "Bundle",
        type: "transaction",
        entry: [
          { resource: { resourceType: "Patient" }, request: { method: "PUT", url: "Patient/dup" } },
          { resource: { resourceType: "Patient" }, request: { method: "PUT", url: "Patient/dup" } },
        ],
      }).text,
    ).to.match(/twice/);
    const invalid = problem(
      entry({
        resource: { resourceType: "Observation", subject: { reference: "Patient/p" } },
        request: { method: "POST", url: "Observation" },
      }),
    );
    expect(invalid.expression[0]).to.match(/^Bundle\.entry\[0\]\.resource\.(status|code)$/);
  });

  it("accepts an empty transaction", () => {
    expect(prepareTransaction({ resourceType: "Bundle", type: "transaction" })).to.deep.equal([]);
  });
});
