package openai

// Payload is what an audit log's payload names besides its id
// (PayloadID): Name is the object's name (name, data.name,
// data.group_name, role_name, or the first of a list of certificates or
// allow-list configurations, whose id is then ID); ResourceKind and
// ResourceID the resource a role applies to (resource_type,
// resource_id); Email and Role the address and role of an invitation or
// a user (data.email, data.role); TenantID a tenant event's tenant_id.
// Read must have been given the event's type for the payload to be read.
type Payload struct {
	ID, Name, ResourceKind, ResourceID, Email, Role, TenantID string
}

// Payload is what the audit log's payload names.
func (f *Fields) Payload() Payload {
	p := &f.payload
	out := Payload{ID: p.id.Str(), ResourceKind: p.resourceKind.Str(), ResourceID: p.resourceID.Str(),
		Email: p.dataEmail.Str(), Role: p.dataRole.Str(), TenantID: p.tenantID.Str()}
	for _, n := range []text{p.name, p.dataName, p.dataGroupName, p.roleName} {
		if out.Name = n.Str(); out.Name != "" {
			break
		}
	}
	if p.firstID != nil || p.firstName != nil {
		out.ID, out.Name = p.firstID.Str(), p.firstName.Str()
	}
	return out
}

// Principal is a role assignment's principal: principal_type (user,
// group, service_account) and principal_id; "" when absent.
func (f *Fields) Principal() (kind, id string) {
	return f.payload.principalKind.Str(), f.payload.principalID.Str()
}

// TargetName is a request log's target.name; "" when absent.
func (f *Fields) TargetName() string { return f.target.name.Str() }

// APIRequest is a request log's api_request: the request's id, the model
// called, and the error it ended with (code, message); "" when absent.
type APIRequest struct{ ID, Model, ErrorCode, ErrorMessage string }

// APIRequest is the request log's api_request; HasError reports whether
// it names an error.
func (f *Fields) APIRequest() (r APIRequest, hasError bool) {
	q := &f.request
	return APIRequest{ID: q.id.Str(), Model: q.model.Str(), ErrorCode: q.errorCode.Str(), ErrorMessage: q.errorMessage.Str()},
		q.errorCode != nil || q.errorMessage != nil
}
