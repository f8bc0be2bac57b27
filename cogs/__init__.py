"""discord.py extensions: thin layers that read an interaction, call ``bot``, and answer."""
