"""The password policy of the WorkMail directory and Simple AD (Administrator Guide,
"Troubleshooting Amazon WorkMail password policies").

The WorkMail directory's policy cannot be changed. AD Connector and AWS Managed Microsoft
AD use the connected directory's own policy, so this check applies only to the WorkMail
directory and Simple AD.
"""

from __future__ import annotations

MIN_LENGTH = 8  # "At least eight characters"
MAX_LENGTH = 63  # "Less than 64 characters"
REQUIRED_GROUPS = 3  # "three out of five of the following groups"

# Directory types whose passwords follow this policy.
POLICY_DIRECTORIES = ("WorkMailDirectory", "SimpleAD")


def _groups(password: str) -> dict[str, bool]:
    return {
        "uppercase letters": any("A" <= c <= "Z" for c in password),
        "lowercase letters": any("a" <= c <= "z" for c in password),
        "digits": any("0" <= c <= "9" for c in password),  # "Numerical digits (0 through 9)"
        # Special characters such as < ~ !: printable ASCII that is not a letter or digit.
        "special characters": any(0x20 <= ord(c) <= 0x7E and not c.isalnum() for c in password),
        # Latin-1 supplement characters such as é ü ñ.
        "Latin-1 supplement characters": any(0xA0 <= ord(c) <= 0xFF for c in password),
    }


def password_problems(password: str) -> list[str]:
    """Why ``password`` breaks the policy; empty when it complies."""
    problems: list[str] = []
    if not password:
        return ["it must not be empty"]  # "Non-empty"
    if len(password) < MIN_LENGTH:
        problems.append(f"it must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"it must be shorter than {MAX_LENGTH + 1} characters")
    if any(not 0x20 <= ord(c) <= 0xFF for c in password):
        # Basic Latin or Latin-1 Supplement characters only.
        problems.append("it may contain only Basic Latin and Latin-1 Supplement characters")
    groups = _groups(password)
    if sum(groups.values()) < REQUIRED_GROUPS:
        missing = ", ".join(name for name, present in groups.items() if not present)
        problems.append(f"it must contain characters from {REQUIRED_GROUPS} of 5 groups; missing: {missing}")
    return problems
