"""What the hub believes of the headers a proxy adds (settings read this at import)."""

# Django reads `X-Forwarded-Proto` through this pair only when it is set.
FORWARDED_PROTO_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def secure_proxy_ssl_header(num_proxies: int) -> tuple[str, str] | None:
    """`SECURE_PROXY_SSL_HEADER` for a hub behind `num_proxies` trusted proxies.

    Without a proxy, `X-Forwarded-Proto` comes from the client itself: trusting it would let a
    plain-http request pass for https (no `SECURE_SSL_REDIRECT`, HSTS sent over http, https
    links built for it), so it is trusted only when a proxy in front sets it.
    """
    return FORWARDED_PROTO_HEADER if num_proxies > 0 else None
