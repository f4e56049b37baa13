"""E-mail channel.

The pure layer (no database, no network) lives here and is used by the IMAP/SMTP transport:

- ``parse``: raw RFC 5322 bytes -> :class:`~hotro.connectors.email.parse.ParsedEmail`
- ``quotes``: new text vs. quoted history and signatures
- ``noise``: auto-replies, bulk mail, bounces (DSN)
- ``threading``: our verifiable Message-IDs, subject tags, the thread decision
- ``auth_results``: Authentication-Results from the trusted border MTA, display-name spoofing
"""
