"""Tables of the mail gateway: outbound queue, MDN, IMAP users (registered on ``Base.metadata``)."""
