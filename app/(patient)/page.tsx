import { LocalTour } from "../_components/LocalTour.tsx";
import { PatientPortal } from "./_components/PatientPortal.tsx";

export default function PatientPortalPage() {
  return (
    <>
      <h1>Your health data consents</h1>
      <p className="lead">
        See who may use which of your health records, for what and until when. Give consent, take it back, and see any
        emergency access to your records.
      </p>
      <LocalTour />
      <PatientPortal />
    </>
  );
}
