"""What the functions get in Lambda besides their code, recorded and installed for the tests.

In Lambda a function imports from three places only: the code asset (``lambdas/``), the
official Powertools layer of the pinned version, and the packages the Python runtime ships
(boto3 and its dependencies). ``layer.txt`` and ``runtime.txt`` beside this file record the
last two as exact pins (``python -m lambda_set compile`` regenerates them); ``python -m
lambda_set install`` installs each into a folder of its own under ``.venv/`` for a test that
runs every handler with nothing else on its path.
"""
