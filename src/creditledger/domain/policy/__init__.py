"""Who may write what (权限管理): the ledger's write policy, pure, used by the writer and by
``verify`` alike.

- :mod:`.roles` — the roles a key is registered with (root, an institution's administrator, and
  its staff: registrar, assessor, secretariat officer, read-only auditor);
- :mod:`.owners` — who owns each aggregate, derived from its own events (a learner account: its
  home school; an achievement: its certifier; ...), and that each aggregate's id is the one its
  natural key gives;
- :mod:`.rules` — for every event type, which roles of which principals may append it;
- :mod:`.check` — :func:`check_commit`, the one check of a whole commit against the rules;
- :mod:`.versions` — the policy versions a genesis may declare.

The ledger declares its policy in its genesis (:data:`POLICY_V1`); a ledger that declares none
(written before the policy existed) is held to the same rules for the credit bank's own event
types, and may hold event types the library does not know.
"""

from creditledger.domain.policy.check import (
    CommitEvent,
    Lookup,
    Violation,
    check_commit,
)
from creditledger.domain.policy.owners import OWNER_TOPICS, Owners, fold
from creditledger.domain.policy.roles import STAFF_ROLES, Role, Signer
from creditledger.domain.policy.versions import POLICIES, POLICY_OPEN, POLICY_V1, POLICY_V2

__all__ = [
    "OWNER_TOPICS",
    "POLICIES",
    "POLICY_OPEN",
    "POLICY_V1",
    "POLICY_V2",
    "STAFF_ROLES",
    "CommitEvent",
    "Lookup",
    "Owners",
    "Role",
    "Signer",
    "Violation",
    "check_commit",
    "fold",
]
