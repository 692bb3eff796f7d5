"""Random actors and actions against the real SQLite ledger: state equals replay, the chain
and every checkpoint verify, and a refused action writes nothing."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from audit.log import ledger
from audit.reads import records
from audit.reads.export import verify_db
from audit.reads.replaycheck import differences
from tests.integration.conftest import make_ledger
from tests.unit.test_properties import ACTIONS, HANDLES, POLICY, payload_for
from workflow.errors import WorkflowError
from workflow.model import replay
from workflow.sla_sweep import sweep


class LedgerLifecycle(RuleBasedStateMachine):
    @initialize(category=st.sampled_from(sorted(POLICY.categories)))
    def open(self, category: str) -> None:
        self.led = make_ledger("sqlite://", None, every=3)  # type: ignore[arg-type]
        self.led.open("p-1", category=category)

    @rule(who=st.sampled_from(HANDLES), action=st.sampled_from(ACTIONS),
          other=st.sampled_from(HANDLES), to_tier=st.one_of(st.none(), st.integers(1, 3)),
          trigger=st.sampled_from(sorted(POLICY.triggers)),
          amount=st.sampled_from(["0", "400", "4000", "90000"]))
    def act(self, who: str, action: str, other: str, to_tier: int | None, trigger: str,
            amount: str) -> None:
        with self.led.engine.connect() as conn:
            size = ledger.read_head(conn, lock=False).size
        try:
            self.led.act("p-1", who, action, payload_for(action, other, to_tier, trigger,
                                                          amount))
        except WorkflowError:
            with self.led.engine.connect() as conn:
                assert ledger.read_head(conn, lock=False).size == size

    @rule(minutes=st.integers(1, 600))
    def time_passes_and_the_sweeper_runs(self, minutes: int) -> None:
        self.led.now += timedelta(minutes=minutes)
        sweep(uow_factory=self.led.uow, now=self.led.now)

    @invariant()
    def state_equals_replay(self) -> None:
        with self.led.engine.connect() as conn:
            recs = records.history(conn, "p-1")
        with self.led.uow() as uow:
            assert replay(records.to_event(r) for r in recs) == uow.escalations.get("p-1")
        with self.led.engine.connect() as conn:
            # Snapshot, indexed columns (written only when changed) and ownership spans.
            assert list(differences(conn)) == []
        breaches = [(r["payload"]["clock"], r["payload"]["deadline"]) for r in recs
                    if r["action"] == "sla-breached"]
        assert len(breaches) == len(set(breaches)), "each breach is recorded once"

    def teardown(self) -> None:
        with self.led.engine.connect() as conn:
            report = verify_db(conn, self.led.signer.vkey, "baton.test/ledger")
        assert report.ok, report.problems
        self.led.engine.dispose()


TestLedgerLifecycle = LedgerLifecycle.TestCase
TestLedgerLifecycle.settings = settings(max_examples=20, stateful_step_count=25,
                                        deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
