"""The application services of the credit bank: :class:`CreditBank` and its command groups.

One module per group of commands, each a class built on :class:`~.core.BankCore`:

- :mod:`.catalog` — institutions, programmes, courses, modules, certificates (R1, R18, R19);
- :mod:`.accounts` — personal learning accounts and their balances (R2, R21);
- :mod:`.recognition` — recognising and revoking achievements (R3–R5, R9);
- :mod:`.transfers` — conversion rules, agreements, conversions, exemptions, lineage (R6–R8);
- :mod:`.alliance` and :mod:`.alliance_certificates` — inter-school course selection and
  electronic course certificates (R11–R17);
- :mod:`.pilots` — 1+X pilots, quotas and exam sittings (R18, R20);
- :mod:`.batch` and :mod:`.batch_rows` — batch import (数据批处理);
- :mod:`.bank` — :class:`CreditBank`, which puts them together.
"""

from creditledger.services.bank import CreditBank

__all__ = ["CreditBank"]
