package dev.conntrack.operator;

import dev.conntrack.api.ConntrackPolicy;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

@ControllerConfiguration(name = "conntrackpolicy")
public class ConntrackPolicyReconciler implements Reconciler<ConntrackPolicy> {
    @Override
    public UpdateControl<ConntrackPolicy> reconcile(ConntrackPolicy resource, Context<ConntrackPolicy> context) {
        return UpdateControl.noUpdate();
    }
}
