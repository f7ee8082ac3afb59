import Core
print("sluice")
