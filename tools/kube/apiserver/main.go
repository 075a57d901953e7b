// Command salespipe-apiserver is the upstream apiextensions-apiserver (CRDs and
// custom resources with real OpenAPI validation, CEL, defaulting, status
// subresource, server-side apply, dry-run and watches) made to run on its own,
// without a kube-apiserver behind it, so that salespipe's tests talk to a real
// Kubernetes API server on a machine that has no kube-apiserver binary.
//
// Differences from the stock apiextensions-apiserver main:
//   - delegated (remote) authentication/authorization is optional and never
//     looked up in-cluster; a static bearer token (--token-file) authenticates
//     as a member of system:masters, which the authorizer always allows;
//   - no admission plugins, no core API client, no priority-and-fairness: they
//     all need a kube-apiserver. Informers that want one get a fake clientset;
//   - /apis discovery is served here (upstream leaves it to the aggregator),
//     listing the groups of established CRDs;
//   - a minimal in-memory core "v1" (namespaces, events; see core.go) answers
//     what kopf needs from a cluster: its namespace observer and event posting.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	authenticatorunion "k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/endpoints/discovery"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	noopoteltrace "go.opentelemetry.io/otel/trace/noop"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	ro := o.RecommendedOptions
	// No kube-apiserver to delegate to: never require its kubeconfig.
	ro.Authentication.RemoteKubeConfigFileOptional = true
	ro.Authentication.SkipInClusterLookup = true
	ro.Authorization.RemoteKubeConfigFileOptional = true
	ro.Features.EnablePriorityAndFairness = false
	ro.SecureServing.BindAddress = netutils.ParseIPSloppy("127.0.0.1")
	o.ServerRunOptions.ExternalHost = "127.0.0.1"
	o.ServerRunOptions.AdvertiseAddress = netutils.ParseIPSloppy("127.0.0.1")
	ro.Etcd.StorageConfig.Transport.ServerList = []string{"http://127.0.0.1:2379"}

	var tokenFile string
	cmd := &cobra.Command{
		Use:   "salespipe-apiserver",
		Short: "apiextensions-apiserver that runs without a kube-apiserver (tests only)",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return o.ServerRunOptions.ComponentGlobalsRegistry.Set()
		},
		RunE: func(c *cobra.Command, _ []string) error {
			return run(c.Context(), o, tokenFile)
		},
	}
	cmd.SetContext(ctx)
	fs := cmd.Flags()
	o.AddFlags(fs)
	fs.StringVar(&tokenFile, "token-file", "",
		"file holding one bearer token that authenticates as user salespipe-admin in group system:masters")
	// Both need a core Kubernetes API; dropped after AddFlags so flags still parse.
	ro.Admission = nil
	ro.CoreAPI = nil
	os.Exit(cli.Run(cmd))
}

func run(ctx context.Context, o *options.CustomResourceDefinitionsServerOptions, tokenFile string) error {
	if err := o.Complete(); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	config, err := newConfig(o, tokenFile)
	if err != nil {
		return err
	}
	completed := config.Complete()
	// Upstream turns /apis off because the aggregator serves it; we have none.
	completed.GenericConfig.EnableDiscovery = true

	server, err := completed.New(genericapiserver.NewEmptyDelegateWithCustomHandler(newCoreAPI()))
	if err != nil {
		return err
	}
	crds := server.Informers.Apiextensions().V1().CustomResourceDefinitions()
	sync := &groupDiscovery{mgr: server.GenericAPIServer.DiscoveryGroupManager, known: map[string]bool{}}
	resync := func() {
		list, err := crds.Lister().List(labels.Everything())
		if err != nil {
			klog.Errorf("listing CRDs for /apis discovery: %v", err)
			return
		}
		sync.update(list)
	}
	if _, err := crds.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { resync() },
		UpdateFunc: func(any, any) { resync() },
		DeleteFunc: func(any) { resync() },
	}); err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// newConfig mirrors options.Config() upstream, but supplies the shared
// informer factory (fake clientset) that CoreAPI would have built from a
// kube-apiserver, and adds the static-token authenticator.
func newConfig(o *options.CustomResourceDefinitionsServerOptions, tokenFile string) (*apiserver.Config, error) {
	ro := o.RecommendedOptions
	if err := ro.SecureServing.MaybeDefaultWithSelfSignedCerts(
		"localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("error creating self-signed certificates: %w", err)
	}
	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	serverConfig.SharedInformerFactory = informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	if err := o.ServerRunOptions.ApplyTo(&serverConfig.Config); err != nil {
		return nil, err
	}
	if err := ro.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	if err := o.APIEnablement.ApplyTo(&serverConfig.Config, apiserver.DefaultAPIResourceConfigSource(), apiserver.Scheme); err != nil {
		return nil, err
	}
	if tokenFile != "" {
		raw, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --token-file: %w", err)
		}
		token := strings.TrimSpace(string(raw))
		if token == "" {
			return nil, fmt.Errorf("--token-file %s is empty", tokenFile)
		}
		tokens := map[string]*user.DefaultInfo{token: {
			Name:   "salespipe-admin",
			UID:    "salespipe-admin",
			Groups: []string{user.SystemPrivilegedGroup, user.AllAuthenticated},
		}}
		auth := &serverConfig.Authentication
		auth.Authenticator = authenticatorunion.New(
			authenticatorfactory.NewFromTokens(tokens, auth.APIAudiences), auth.Authenticator)
	} else {
		klog.Warning("no --token-file: only client certificates (--client-ca-file) can authenticate")
	}

	// go-restful serves discovery at "/apis" only; kube-apiserver (through its
	// aggregator) also answers "/apis/", which the Python client requests.
	buildChain := serverConfig.BuildHandlerChainFunc
	serverConfig.BuildHandlerChainFunc = func(h http.Handler, c *genericapiserver.Config) http.Handler {
		chain := buildChain(h, c)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/apis/" {
				r.URL.Path = "/apis"
			}
			chain.ServeHTTP(w, r)
		})
	}

	defs := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(defs, openapinamer.NewDefinitionNamer(apiserver.Scheme))
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(defs, openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))
	return &apiserver.Config{
		GenericConfig: serverConfig,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: options.NewCRDRESTOptionsGetter(*ro.Etcd, serverConfig.ResourceTransformers, serverConfig.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, serverConfig.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}, nil
}

// noServices resolves no Service: conversion webhooks cannot be reached here.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("no Services in this API server (service %s/%s:%d)", namespace, name, port)
}

// groupDiscovery keeps the unaggregated /apis list (APIGroupList) in step
// with the established CRDs. The aggregated form is already maintained by
// apiextensions' own discovery controller.
type groupDiscovery struct {
	mgr   discovery.GroupManager
	known map[string]bool
}

func (g *groupDiscovery) update(crds []*apiextensionsv1.CustomResourceDefinition) {
	versions := map[string]map[string]bool{}
	for _, crd := range crds {
		if !established(crd) {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			if versions[crd.Spec.Group] == nil {
				versions[crd.Spec.Group] = map[string]bool{}
			}
			versions[crd.Spec.Group][v.Name] = true
		}
	}
	for group, set := range versions {
		names := make([]string, 0, len(set))
		for v := range set {
			names = append(names, v)
		}
		sort.Slice(names, func(i, j int) bool {
			return utilversion.CompareKubeAwareVersionStrings(names[i], names[j]) > 0
		})
		apiGroup := metav1.APIGroup{Name: group}
		for _, v := range names {
			apiGroup.Versions = append(apiGroup.Versions,
				metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		apiGroup.PreferredVersion = apiGroup.Versions[0]
		g.mgr.AddGroup(apiGroup)
		g.known[group] = true
	}
	for group := range g.known {
		if _, ok := versions[group]; !ok {
			g.mgr.RemoveGroup(group)
			delete(g.known, group)
		}
	}
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
