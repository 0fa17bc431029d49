"""Code the function folders share: settings, contracts, Twilio and storage access, logic."""
