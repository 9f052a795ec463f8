"""Music generators: baselines now; the LSTM model zoo (notewise, piano roll, ABC, biaxial...) grows here."""
