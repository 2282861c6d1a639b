"""A district (SP office) over its police stations, in the witness model of transparency logs.

- :mod:`.stations`: the district's stations, from the shared database (``qms district join``,
  ``qms office add … --district``) or seen through their audit bundles; each one's chain.
- :mod:`.imports`: ``qms district import BUNDLE`` verifies a station's bundle and keeps its
  signed history; a later bundle must extend what is held, never rewrite or shorten it.
- :mod:`.witness`: the SP office key countersigns each station checkpoint it receives.
- :mod:`.verify`: a station's chain checked against every witnessed checkpoint.
- :mod:`.views`: status, consolidated master list, open NCs, overdue reviews and citizen
  feedback per station, projected from each station's chain.

Every change is a signed event of the SP office's chain (rules: :mod:`qms_engine.chain.
district_rules`).  It reads documents, CAPA and feedback only through the stations' chains.
"""
