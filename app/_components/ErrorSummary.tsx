"use client";
import { useEffect, useId, useRef } from "react";

/** One problem of a form: the message, and the id of the field that fixes it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * The error summary at the top of a form (as in the GOV.UK and NHS design systems): "There is a
 * problem", then each error as a link to its field. It takes focus each time `attempt` changes
 * (a refused submit), so a screen reader reads it at once and a keyboard user goes on from there.
 * Errors are passed in already re-validated, so a fixed field leaves the list at once.
 */
export function ErrorSummary({ problems, attempt }: { problems: FieldProblem[]; attempt: number }) {
  const element = useRef<HTMLDivElement>(null);
  const headingId = useId();
  useEffect(() => {
    if (attempt > 0) element.current?.focus();
  }, [attempt]);
  if (problems.length === 0) return null;
  return (
    <div ref={element} className="error-summary" role="alert" tabIndex={-1} aria-labelledby={headingId}>
      <h3 id={headingId}>There is a problem</h3>
      <ul>
        {problems.map((p) => (
          <li key={p.field}>
            <a
              href={`#${p.field}`}
              onClick={(event) => {
                event.preventDefault();
                const target = document.getElementById(p.field);
                target?.focus();
                target?.scrollIntoView({ block: "center" });
              }}
            >
              {p.message}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}
