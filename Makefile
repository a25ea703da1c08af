# Used by `sam build` (Metadata: BuildMethod: makefile): SAM's default .NET build needs a tool
# the package registry here does not serve, so the functions are published with the SDK.
# ARTIFACTS_DIR is set by SAM.
FUNCTIONS_PROJECT := src/PikaIngest.Functions/PikaIngest.Functions.csproj
PUBLISH := dotnet publish $(FUNCTIONS_PROJECT) -c Release -r linux-x64 --self-contained false -p:GenerateRuntimeConfigurationFiles=true

build-SstFunction:
	$(PUBLISH) -o "$(ARTIFACTS_DIR)"

build-MergeFunction:
	$(PUBLISH) -o "$(ARTIFACTS_DIR)"

build-ManifestFunction:
	$(PUBLISH) -o "$(ARTIFACTS_DIR)"

.PHONY: build-SstFunction build-MergeFunction build-ManifestFunction
