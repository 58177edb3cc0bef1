"""Clinical rules and advice: eligibility, screening, titration, refill, triage, recovery,
procedures and the care team. Each rule is a pure function that returns its result together
with the reasons (code, words, source key) that shaped it."""
