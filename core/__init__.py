"""OpenMailer's domain: plain Python (standard library only), independent of every adapter."""
