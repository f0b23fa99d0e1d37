"""Credit transfers (学分转换, R6–R8, R21), pure: rules, agreements, conversions, exemptions.

- :mod:`.values` — accounts, transfers, targets, exemptions, source facts;
- :mod:`.rules` — conversion rules and their parts; :mod:`.ruleset` — a school's versioned
  rule set; :mod:`.agreement` — bilateral agreements (学分互认协议);
- :mod:`.policy` — applying a rule to sources: matching, conditions, amounts;
  :mod:`.caps` — caps (转换上限);
- :mod:`.conversion` — a conversion as recorded; :mod:`.ledger` — ``CreditTransfers``, one
  learner's balanced double-entry transfer ledger; :mod:`.lineage` — tracing credits back.
"""
