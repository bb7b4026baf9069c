import { RunsTable } from "../components/runs-table";

export function Runs() {
  return (
    <section>
      <h1>Runs</h1>
      <RunsTable />
    </section>
  );
}
