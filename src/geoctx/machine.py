"""What decides whether two runs are bit-identical: the machine's platform.

The study config JSON written beside a report holds this record under
:data:`PLATFORM_KEY`; it is not part of the config, nor of the fingerprint.
"""

#: The key of ``study_config.json`` that holds the platform record.
PLATFORM_KEY = "platform"
